// What ballast's idle memory is made of: the resident memory of a Node.js 24 process as it loads, one step at a
// time, what ballast loads at start (the Node.js built-ins it needs, then the bundle with its libraries and its own
// code). Each step's figure is VmRSS after that import, and how much of it is the node binary's own pages (code and
// built-in sources the step touched), from /proc/self/status. Uses the built code (dist/).
//
//   npm run build && node bench/modules.js [--rounds 3] [--out PATH]
//
// With the default options the report replaces bench/results/modules.md. Each round is a fresh process; the table
// shows the median per step. A second table compares the bundle with the same code as separate modules; a third,
// validating the default config in the main thread with doing it in a worker thread that then ends (a way to keep
// the config parser and validator out of the serving isolate). Every process runs with the launcher's lean settings
// (bin/lean.js: its V8 flags and MALLOC_* variables).
// docs/performance.md §2 cites it.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  leanEnv,
  leanFlags,
  median,
  NODE,
  parseOptionsOrExit,
  RESULTS_DIR,
  ROOT,
  reportPath,
  writeReport,
} from './lib/index.js';

const opts = parseOptionsOrExit(import.meta.url, {
  rounds: { type: 'int', min: 1, max: 20, default: 3 },
  out: { type: 'path', figures: false },
});

/**
 * The steps, in the order ballast meets them: the Node.js built-ins it needs (`require:` loads one the way ballast
 * does, not as an ES import), then the bundle, which holds every library and ballast module (`npm run build`).
 */
const BUILTINS = [
  ['node:dgram', 'UDP sockets'],
  ['node:net', 'TCP listener'],
  ['require:node:http', 'admin server (/metrics, /health, /ready)'],
  ['node:child_process', 'ip and iptables (node networking)'],
  ['node:fs/promises', 'snapshot and instance files'],
  ['node:perf_hooks', 'event-loop delay (/health, metrics)'],
  ['node:worker_threads', "pino's transport module (loaded with pino)"],
];
const STEPS = [
  ...BUILTINS,
  ['./dist/bundle.js', 'ballast and its libraries (pino, prom-client, lru-cache, valibot, js-yaml), one file'],
];
/** The same code loaded as separate modules (what tsc emits, libraries from node_modules) against the bundle. */
const LAYOUTS = [
  ['./dist/cli.js', 'separate modules: dist/cli.js and what it imports (some 160 files)'],
  ['./dist/bundle.js', 'one file: dist/bundle.js (what the image runs)'],
];

/**
 * prom-client as src/observe/prom.ts loads it (its classes and the default-metric modules ballast uses, each from its
 * own module) against its public index, after the same built-ins: what docs/performance.md §3's choice is worth.
 */
const PROM_MODULES = [
  'registry',
  'counter',
  'gauge',
  'histogram',
  'metrics/processStartTime',
  'metrics/osMemoryHeap',
  'metrics/processOpenFileDescriptors',
  'metrics/processMaxFileDescriptors',
  'metrics/processHandles',
  'metrics/processRequests',
  'metrics/heapSizeAndUsed',
  'metrics/heapSpacesSizeAndUsed',
  'metrics/version',
].map((m) => `require:prom-client/lib/${m}.js`);
const PROM_VARIANTS = [
  [PROM_MODULES, 'its modules, one by one (what src/observe/prom.ts imports)'],
  [['require:prom-client'], "its public index (`import { Counter } from 'prom-client'`)"],
];

const PROBE = `
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
// /proc/self/status, not smaps: reading smaps makes a string of some 100 KB and thousands of lines, which grows the
// very heap being measured (an earlier version of this script read it, and over-stated every step by megabytes).
const sample = () => {
  const status = fs.readFileSync('/proc/self/status', 'latin1');
  const kib = (k) => Number(status.split('\\n').find((l) => l.startsWith(k + ':')).split(/\\s+/)[1]) * 1024;
  return { rss: kib('VmRSS'), bin: kib('RssFile') };
};
const out = [sample()];
for (const step of JSON.parse(process.argv[2])) {
  if (step.startsWith('require:')) require(step.slice(8));
  else await import(step.startsWith('./') ? new URL(step, ${JSON.stringify(`file://${ROOT}/`)}).href : step);
  out.push(sample());
}
process.stdout.write(JSON.stringify(out));
`;

function round(steps = STEPS.map((s) => s[0])) {
  const probe = path.join(ROOT, 'bench/out/modules-probe.mjs');
  fs.mkdirSync(path.dirname(probe), { recursive: true });
  fs.writeFileSync(probe, PROBE);
  const r = spawnSync('env', [...leanEnv(), NODE, ...leanFlags(), probe, JSON.stringify(steps)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Node's built-ins and pino (what every variant loads), then the default config validated `where`; RSS after. */
const VALIDATE_PROBE = `
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
await import('node:dgram'); await import('node:net');
createRequire(import.meta.url)('node:http');
await import('pino');
const config = ${JSON.stringify(`file://${ROOT}/dist/config/index.js`)};
const where = process.argv[2];
if (where === 'main') (await import(config)).validate({});
if (where === 'worker') {
  const code = 'import(' + JSON.stringify(config) + ').then((m) => m.validate({}))';
  await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('error', reject);
    w.once('exit', resolve);
  });
}
await new Promise((r) => setTimeout(r, 2000));
const status = fs.readFileSync('/proc/self/status', 'utf8');
const kib = (k) => Number(status.split('\\n').find((l) => l.startsWith(k + ':')).split(/\\s+/)[1]) * 1024;
process.stdout.write(JSON.stringify({ rss: kib('VmRSS'), anon: kib('RssAnon') }));
`;
const VALIDATE_VARIANTS = [
  ['none', 'built-ins and pino only'],
  ['main', 'the default config validated in the main thread (as ballast does)'],
  ['worker', 'the default config validated in a worker thread, which then ended'],
];

function validateRound(where) {
  const probe = path.join(ROOT, 'bench/out/modules-validate-probe.mjs');
  fs.writeFileSync(probe, VALIDATE_PROBE);
  const r = spawnSync('env', [...leanEnv(), NODE, ...leanFlags(), probe, where], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const rounds = Array.from({ length: opts.rounds }, () => round());
const layouts = LAYOUTS.map(([file]) =>
  Array.from({ length: opts.rounds }, () => round([...BUILTINS.map((s) => s[0]), file]).at(-1)),
);
const proms = PROM_VARIANTS.map(([steps]) =>
  Array.from({ length: opts.rounds }, () => round([...BUILTINS.map((s) => s[0]), ...steps]).at(-1)),
);
const validated = VALIDATE_VARIANTS.map(([where]) => Array.from({ length: opts.rounds }, () => validateRound(where)));
const mib = (b) => (b / 2 ** 20).toFixed(1);
const at = (i, k) => median(rounds.map((r) => r[i][k]));
const lines = [
  '# What the idle process is made of',
  '',
  `Generated by \`node bench/modules.js --rounds ${opts.rounds}\` on ${new Date().toISOString().slice(0, 10)}, Node.js ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, with the launcher's lean settings (\`${leanEnv().join(' ')}\`, V8 flags \`${leanFlags().join(' ')}\`); median of ${opts.rounds} fresh processes. Each row loads one more thing, in the order ballast does; RSS is the process's VmRSS after it (read from /proc/self/status), "file-backed" the part of it that is mapped files, nearly all of it the node executable's own pages (code and built-in sources that step touched). ballast idle after start adds its sockets, timers and first heap growth on top of the last row (bench/results/footprint.md).`,
  '',
  '| step | what for | RSS (MiB) | added (MiB) | of it, file-backed (MiB) |',
  '|---|---|--:|--:|--:|',
  `| Node.js 24, nothing loaded (ES module entry) | — | ${mib(at(0, 'rss'))} | — | — |`,
];
STEPS.forEach(([step, why], i) => {
  const added = at(i + 1, 'rss') - at(i, 'rss');
  const bin = at(i + 1, 'bin') - at(i, 'bin');
  lines.push(
    `| \`${step.replace('require:', '')}\` | ${why} | ${mib(at(i + 1, 'rss'))} | ${mib(added)} | ${mib(bin)} |`,
  );
});
lines.push(
  '',
  '## One file or many',
  '',
  `The same built-ins, then ballast's code in either layout; each row a fresh process, median of ${opts.rounds}.`,
  '',
  '| layout | RSS (MiB) | of it, file-backed (MiB) |',
  '|---|--:|--:|',
);
LAYOUTS.forEach(([, what], i) => {
  lines.push(
    `| ${what} | ${mib(median(layouts[i].map((r) => r.rss)))} | ${mib(median(layouts[i].map((r) => r.bin)))} |`,
  );
});
lines.push(
  '',
  '## prom-client: its modules or its index',
  '',
  `The same built-ins, then prom-client loaded from node_modules either way; each row a fresh process, median of ${opts.rounds}.`,
  '',
  '| prom-client loaded from | RSS (MiB) |',
  '|---|--:|',
);
PROM_VARIANTS.forEach(([, what], i) => {
  lines.push(`| ${what} | ${mib(median(proms[i].map((r) => r.rss)))} |`);
});
lines.push(
  '',
  '## Validating the config in a worker thread',
  '',
  `Each row a fresh process with the launcher's lean settings (\`${leanEnv().join(' ')}\`, the same V8 flags), RSS 2 s after the step; median of ${opts.rounds}. A worker would keep the config parser, the validator and the schema out of the serving isolate, if its memory came back when it ends.`,
  '',
  '| process | RSS (MiB) | of it, anonymous (MiB) |',
  '|---|--:|--:|',
);
VALIDATE_VARIANTS.forEach(([, what], i) => {
  const rss = median(validated[i].map((r) => r.rss));
  const anon = median(validated[i].map((r) => r.anon));
  lines.push(`| ${what} | ${mib(rss)} | ${mib(anon)} |`);
});
lines.push('');
const written = writeReport(reportPath(opts, path.join(RESULTS_DIR, 'modules.md')), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\nreport written to ${written}\n`);
