// The latency floor of this machine: per-query latency at fixed rates for three servers answering the same 1,000
// names — the bare Node.js responder (bench/responder.js), BIND 9 (a C server, authoritative for the names; left
// out when `named` is not installed) and ballast answering from its cache — each pinned to the server CPU and driven
// by dnsperf from the other, with the share of each CPU the hypervisor stole during every pass (/proc/stat).
// It answers one question: does any DNS server reach a p99 of 1 ms on this machine (issue 11's latency target)?
// Before each round it also measures how often the machine stops each CPU while nothing runs (bench/lib/stalls.js),
// and it records how busy each server kept its CPU during every pass: a stall costs more the busier the server is.
//
//   npm run build && node bench/latency-floor.js [--rates 2000,5000,10000,25000] [--duration 10] [--rounds 2]
//                                                [--out PATH]
//
// Systems are measured in turn at each rate, and the rounds repeat the whole sweep, so that a slow spell of the
// machine hits all of them alike. With the default options the report replaces bench/results/latency-floor.md;
// any other run writes bench/out/latency-floor.md unless --out says otherwise. 25,000/s is about half of what the
// bare responder and ballast answer at full load on this machine (bench/RESULTS.md): the rate of issue 11's p99
// target. About 5 minutes with the defaults.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ballastCommand,
  benchAddress,
  cpuShareDuring,
  displayCommand,
  fmtInt,
  fmtMs,
  formatStalls,
  freePort,
  isBuilt,
  latencyPass,
  machineInfo,
  mdTable,
  measureStalls,
  median,
  parseOptionsOrExit,
  RESULTS_DIR,
  reportPath,
  requireLoadTools,
  responderCommand,
  runDnsperf,
  runMain,
  startSystem,
  startUpstream,
  tempDir,
  UsageError,
  writeQueryFile,
  writeReport,
} from './lib/index.js';

const opts = parseOptionsOrExit(import.meta.url, {
  rates: { type: 'int-list', min: 100, max: 100_000, default: [2000, 5000, 10000, 25000] },
  duration: { type: 'int', min: 2, max: 60, default: 10 },
  rounds: { type: 'int', min: 1, max: 10, default: 2 },
  out: { type: 'path', figures: false },
});

const NAMES = 1000;
const TARGET_P99_MS = 1;
/** Seconds of the CPU stall probe before each round. */
const STALL_SECONDS = 10;

/** BIND's named, authoritative for nameN.bench.test with bench/upstream.js's addresses, one worker thread. */
function namedCommand(port) {
  const named = spawnSync('sh', ['-c', 'command -v named'], { encoding: 'utf8' }).stdout.trim();
  if (!named) return null;
  const dir = path.join(tempDir(), 'named');
  fs.mkdirSync(dir, { recursive: true });
  const zone = ['$TTL 3600', '@ IN SOA ns. hostmaster. 1 3600 600 86400 60', '@ IN NS ns.'];
  for (let i = 0; i < NAMES; i++) zone.push(`name${i} IN A ${benchAddress(i)}`);
  fs.writeFileSync(path.join(dir, 'bench.zone'), `${zone.join('\n')}\n`);
  const conf = path.join(dir, 'named.conf');
  fs.writeFileSync(
    conf,
    `options { directory "${dir}"; pid-file "${dir}/named.pid"; session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; };
controls { };
zone "bench.test" { type primary; file "bench.zone"; };
`,
  );
  const printed = spawnSync(named, ['-v'], { encoding: 'utf8' }).stdout.trim();
  const version = /BIND [\d.]+/.exec(printed)?.[0] ?? 'BIND';
  return { argv: [named, '-g', '-n', '1', '-c', conf], version };
}

async function main() {
  const dnsperf = requireLoadTools();
  if (!isBuilt()) throw new UsageError('dist/cli.js is missing; run `npm run build` first');
  const queryFile = writeQueryFile('latency-floor.queries.txt', 0, NAMES);
  const upstream = await startUpstream('latency-floor');
  const systems = [];
  const add = async (key, label, argv, port) => {
    const child = await startSystem(`latency-floor-${key}`, argv, port);
    systems.push({ key, label, port, pid: child.pid, command: displayCommand(argv), passes: {} });
  };
  let port = await freePort();
  await add('responder', 'bare Node.js responder (bench/responder.js)', responderCommand(port), port);
  port = await freePort();
  const named = namedCommand(port);
  if (named) await add('bind', `${named.version} (authoritative, C)`, named.argv, port);
  port = await freePort();
  const argv = ballastCommand({ port, upstreamPort: upstream.port, adminPort: await freePort() });
  await add('ballast', 'ballast (cache hits)', argv, port);

  // Every name once (ballast fetches and caches it), then a short full-load pass per system so the JIT settles.
  for (const s of systems) {
    await runDnsperf(`latency-floor-${s.key}-warm`, s.port, queryFile, { duration: 30, runs: 1, timeout: 5 });
    await runDnsperf(`latency-floor-${s.key}-jit`, s.port, queryFile, { duration: 3, runs: 200, qps: 50_000 });
  }
  const upstreamAfterWarm = await upstream.count();

  const stalls = [];
  for (let round = 1; round <= opts.rounds; round++) {
    stalls.push(await measureStalls(STALL_SECONDS));
    process.stderr.write(`round ${round} stalls: ${formatStalls(stalls.at(-1), STALL_SECONDS)}\n`);
    for (const rate of opts.rates) {
      for (const s of systems) {
        const { result: r, cpu } = await cpuShareDuring(s.pid, () =>
          latencyPass(`latency-floor-${s.key}-${rate}-${round}`, s.port, queryFile, {
            duration: opts.duration,
            qps: rate,
            names: NAMES,
          }),
        );
        (s.passes[rate] ??= []).push({ ...r, cpu });
        process.stderr.write(
          `round ${round} ${rate}/s ${s.key}: p50 ${fmtMs(r.p50)} p99 ${fmtMs(r.p99)} ms, ` +
            `${(100 * r.over1ms).toFixed(2)} % over 1 ms, server ${cpu.serverProcess}% of its CPU, ` +
            `steal ${cpu.serverSteal}/${cpu.loadgenSteal} %\n`,
        );
      }
    }
  }
  const upstreamDuring = (await upstream.count()) - upstreamAfterWarm;
  if (upstreamDuring !== 0) throw new Error(`${upstreamDuring} measured queries reached the upstream: not all hits`);

  const file = reportPath(opts, path.join(RESULTS_DIR, 'latency-floor.md'));
  writeReport(file, render(systems, { dnsperf, named, stalls }));
  process.stderr.write(`wrote ${file}\n`);
  return 0;
}

const range = (values, unit = ' %') => {
  const v = values.filter((x) => x !== null && x !== undefined);
  return v.length ? `${Math.min(...v)}–${Math.max(...v)}${unit}` : '?';
};

function render(systems, { dnsperf, named, stalls }) {
  const rows = [];
  let best = Number.POSITIVE_INFINITY;
  const top = Math.max(...opts.rates);
  for (const rate of opts.rates) {
    for (const s of systems) {
      const passes = s.passes[rate];
      const p99s = passes.map((p) => p.p99);
      best = Math.min(best, ...p99s);
      rows.push([
        `${fmtInt(rate)}/s`,
        s.label,
        fmtMs(median(passes.map((p) => p.p50))),
        fmtMs(median(p99s)),
        p99s.map(fmtMs).join(', '),
        fmtMs(median(passes.map((p) => p.p999))),
        fmtMs(Math.max(...passes.map((p) => p.max ?? 0))),
        passes.reduce((n, p) => n + p.lostCounted, 0),
        passes.map((p) => `${(100 * p.over1ms).toFixed(2)} %`).join(', '),
        range(passes.map((p) => p.cpu.serverProcess)),
        range(passes.flatMap((p) => [p.cpu.serverSteal, p.cpu.loadgenSteal])),
      ]);
    }
  }
  const m = machineInfo();
  return `# Latency floor: what per-query latency this machine allows

Generated by \`node bench/latency-floor.js${opts.figureFlags.length ? ' …' : ''}\` (after \`npm run build\`); do not edit by hand, re-run instead.

- Date: ${new Date().toISOString()}
- Machine: ${m.nproc} CPUs, ${m.model}, ${m.kernel}; Node.js ${m.nodeVersion}; dnsperf ${dnsperf}${named ? `; ${named.version}` : '; BIND not installed (left out)'}
- Each server pinned to CPU 0, dnsperf to CPU 1 (\`taskset\`), UDP over 127.0.0.1, the same 1,000 names \`nameN.bench.test A\`. Per pass: dnsperf \`-l ${opts.duration} -q 100 -Q RATE -v\`, latencies from its per-query lines, lost queries counted as slowest. ${opts.rounds} round(s); each round measures every rate, and every server in turn at each rate.
- Later than 1 ms: the share of the pass's queries answered after more than 1 ms or not at all, each round (a p99 of 1 ms allows 1 %). Server CPU: the share of its CPU the server process used during the pass (user + system, /proc/PID/stat); the kernel's loopback work for the replies comes on top. Steal: the share of each CPU's time that the hypervisor gave to something else during the pass (the \`steal\` column of /proc/stat), both CPUs, over every round.
- CPU stalls with nothing else running, before each round (bench/lib/stalls.js: a loop reading the clock on each CPU for ${STALL_SECONDS} s; a gap is time the CPU was taken away, by the hypervisor or the kernel):
${stalls.map((st, i) => `  - round ${i + 1}: ${formatStalls(st, STALL_SECONDS)}`).join('\n')}
- BIND: \`named -n 1\` (one worker thread), \`recursion no\`, listening on 127.0.0.1 only, primary for one zone \`bench.test\` holding the same 1,000 names with the addresses bench/upstream.js gives them.
- ballast runs as the benchmarks run it (the image's flags and environment) and answers every measured query from its cache: the upstream saw no query during the passes.

${mdTable(
  [
    ['rate', 'right'],
    ['server'],
    ['p50 ms', 'right'],
    ['p99 ms (median)', 'right'],
    ['p99 ms of each round'],
    ['p99.9 ms', 'right'],
    ['max ms', 'right'],
    ['lost', 'right'],
    ['later than 1 ms, each round', 'left'],
    ['server CPU', 'right'],
    ['CPU steal', 'right'],
  ],
  rows,
)}

Lowest p99 of any server in any pass: **${fmtMs(best)} ms** (issue 11's target for ballast: ≤ ${TARGET_P99_MS} ms).
${best > TARGET_P99_MS ? `No server measured here, the C server and the server that does no DNS work included, reached it: on this machine the target is below the floor that the hardware and hypervisor set.` : `At least one server reached it in one pass.`}

At the highest rate, ${fmtInt(top)}/s, the lowest p99 of each server: **${systems.map((s) => `${s.key} ${fmtMs(Math.min(...s.passes[top].map((p) => p.p99)))} ms`).join(', ')}**.

Commands:

${systems.map((s) => `- ${s.key}: \`taskset -c 0 ${s.command}\``).join('\n')}
- a pass: \`taskset -c 1 dnsperf -s 127.0.0.1 -p PORT -d bench/out/latency-floor.queries.txt -l ${opts.duration} -q 100 -n N -Q RATE -t 2 -v\`
`;
}

runMain('latency-floor', main);
