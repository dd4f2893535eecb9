// The fleet simulation (docs/fleet.md): thousands of nodes' DNS on one virtual clock, through ballast's real request
// path (or a model of NodeLocal DNSCache), in front of a model of CoreDNS and its API server. Four scenarios — the
// December 2024 API server outage, CoreDNS unreachable, CoreDNS overloaded, a rolling restart of the node cache during
// an outage — and wrong negatives, each for every policy it compares, on a sample of nodes that stands for a
// 5,000-node fleet.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../errors.js';
import { type FlagSpec, flagHelp, parseFlags } from '../util/flags.js';
import { scaleReplicas } from './coredns.js';
import { DEFAULTS } from './model.js';
import { html, markdown, type ReportMeta, type Results, readmeSvg, verdict } from './report.js';
import { calibrate, type FleetOptions, type FleetRun } from './run.js';
import { SCENARIOS, type ScenarioName, timeline } from './scenarios.js';

const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

/** The flags of `npm run simulate`, declared once for the parser and the help. */
export const SIMULATE_FLAGS: readonly FlagSpec[] = [
  { name: 'nodes', value: 'N', help: 'nodes simulated (2 to 5000)', default: String(DEFAULTS.nodes) },
  { name: 'seed', value: 'N', help: 'seed of every random draw', default: String(DEFAULTS.seed) },
  { name: 'only', value: 'LIST', help: `scenarios, comma-separated: ${SCENARIO_NAMES.join(', ')}`, default: 'all' },
  {
    name: 'workers',
    value: 'N',
    help: 'worker threads (1 to 16)',
    default: String(Math.min(2, os.availableParallelism())),
  },
  { name: 'short', help: 'every phase 10× shorter: a check that it works, not a result' },
  { name: 'out', value: 'DIR', help: 'where the report goes', default: 'bench/out' },
  { name: 'publish', help: 'update the published report in bench/results (default figures only)' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const OUT_DIR = path.join(ROOT, 'bench', 'out');

export const SIMULATE_HELP = `npm run simulate -- [options]   (docs/fleet.md)

${flagHelp(SIMULATE_FLAGS)}

It writes fleet.html, fleet.md and fleet-dec-2024.svg to bench/out/ (git-ignored) or --out DIR. --publish writes
them to bench/results/ instead, the report the README and docs/fleet.md show: only with the default figures (no
--nodes, --seed, --only or --short), so a partial run never replaces it.
`;

interface SimulateOptions {
  nodes: number;
  seed: number;
  only: ScenarioName[];
  workers: number;
  short: boolean;
  outDir: string;
}

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`simulate: --${flag} ${raw}: want an integer from ${min} to ${max}`);
  }
  return n;
}

/** The options of a command line; a UsageError names the flag, the value and what is allowed. */
export function parseSimulate(argv: readonly string[]): SimulateOptions | 'help' {
  const { values, positionals } = parseFlags(SIMULATE_FLAGS, argv, 'simulate');
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`simulate: unexpected argument ${positionals[0]}`);
  const str = (name: string) => values[name] as string | undefined;
  let only = SCENARIO_NAMES;
  if (str('only') !== undefined) {
    const asked = str('only')!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of asked) {
      if (!SCENARIO_NAMES.includes(name as ScenarioName)) {
        throw new UsageError(`simulate: --only ${name}: unknown scenario; allowed: ${SCENARIO_NAMES.join(', ')}`);
      }
    }
    only = SCENARIO_NAMES.filter((n) => asked.includes(n));
  }
  const opts = {
    nodes: integer('nodes', str('nodes'), DEFAULTS.nodes, 2, 5000),
    seed: integer('seed', str('seed'), DEFAULTS.seed, 0, 2 ** 31),
    only,
    workers: integer('workers', str('workers'), Math.min(2, os.availableParallelism()), 1, 16),
    short: values.short === true,
  };
  const figures = opts.nodes !== DEFAULTS.nodes || opts.seed !== DEFAULTS.seed || only !== SCENARIO_NAMES || opts.short;
  const out = str('out');
  if (values.publish === true) {
    if (figures)
      throw new UsageError(
        'simulate: --publish updates the published report: not with --nodes, --seed, --only or --short',
      );
    if (out !== undefined) throw new UsageError('simulate: --publish writes to bench/results: not with --out');
    return { ...opts, outDir: RESULTS_DIR };
  }
  return { ...opts, outDir: out !== undefined ? path.resolve(out) : OUT_DIR };
}

/** Runs `jobs` on a pool of worker threads, longest first; resolves with the results in the jobs' order. */
function runPool(jobs: { cost: number; opts: FleetOptions }[], workers: number): Promise<FleetRun[]> {
  const order = jobs.map((j, id) => ({ ...j, id })).sort((a, b) => b.cost - a.cost);
  const results: FleetRun[] = new Array(jobs.length);
  const pool: Worker[] = [];
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    // Every worker is stopped at the end, whichever way it comes, so the process can exit.
    const finish = (err?: Error) =>
      Promise.all(pool.map((w) => w.terminate())).then(() => (err ? reject(err) : resolve(results)));
    const start = (w: Worker) => {
      if (next < order.length) w.postMessage({ id: order[next].id, opts: order[next++].opts });
    };
    for (let i = 0; i < Math.min(workers, jobs.length); i++) {
      const w = new Worker(fileURLToPath(new URL('./worker.js', import.meta.url)));
      w.on('message', (m: { id: number; result?: FleetRun; error?: string }) => {
        if (m.error !== undefined) return void finish(new Error(m.error));
        results[m.id] = m.result!;
        process.stderr.write(`fleet: ${m.result!.scenario} / ${m.result!.label} done (${++done}/${jobs.length})\n`);
        if (done === jobs.length) void finish();
        else start(w);
      });
      w.on('error', (err) => void finish(err));
      pool.push(w);
    }
    for (const w of pool) start(w);
  });
}

/** The command that made a report, as its reader would type it. */
function invokedAs(argv: readonly string[]): string {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
  if (process.env.npm_lifecycle_event === 'simulate') return `npm run simulate${quoted ? ` -- ${quoted}` : ''}`;
  return `node dist/fleet/cli.js${quoted ? ` ${quoted}` : ''}`;
}

function write(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return path.relative(process.cwd(), file) || file;
}

async function simulate(opts: SimulateOptions, argv: readonly string[]): Promise<void> {
  const started = Date.now();
  const base = { nodes: opts.nodes, seed: opts.seed };
  const jobs: { cost: number; opts: FleetOptions }[] = [];
  for (const name of opts.only) {
    const sc = SCENARIOS[name];
    const phases = opts.short
      ? { warmS: sc.phases.warmS / 10, faultS: sc.phases.faultS / 10, recoverS: sc.phases.recoverS / 10 }
      : {};
    const t = timeline(sc, phases);
    const calibratedQps = sc.calibrate ? await calibrate({ ...DEFAULTS, ...base }, t.warmS) : undefined;
    for (const policy of sc.policies) {
      const cost = t.seconds * (policy === 'nodelocal' ? 1 : 4);
      jobs.push({ cost, opts: { ...base, scenario: name, policy, phases, calibratedQps } });
    }
  }
  const flat = await runPool(jobs, opts.workers);
  const results: Results = new Map(opts.only.map((name) => [name, flat.filter((r) => r.scenario === name)]));
  const c = scaleReplicas({ ...DEFAULTS, ...base });
  const meta: ReportMeta = {
    command: invokedAs(argv),
    wallSeconds: Math.round((Date.now() - started) / 1000),
    workers: opts.workers,
    seed: opts.seed,
    sample:
      `A sample of ${opts.nodes} nodes stands for a fleet of ${DEFAULTS.fleetNodes.toLocaleString('en-US')}: CoreDNS ` +
      `runs ${c.replicas} replicas of ${Math.round(c.qps).toLocaleString('en-US')} q/s (the fleet's ` +
      `${c.fleetReplicas} × ${DEFAULTS.replicaQps.toLocaleString('en-US')} q/s, scaled by ` +
      `${opts.nodes}/${DEFAULTS.fleetNodes}), and every query rate shown is the sample's × ` +
      `${+(DEFAULTS.fleetNodes / opts.nodes).toFixed(1)}.`,
  };
  const written = [
    write(path.join(opts.outDir, 'fleet.html'), html(results, meta)),
    write(path.join(opts.outDir, 'fleet.md'), markdown(results, meta)),
  ];
  const dec = results.get('dec-2024');
  if (dec !== undefined) written.push(write(path.join(opts.outDir, 'fleet-dec-2024.svg'), readmeSvg(dec)));
  process.stdout.write(`${markdown(results, meta)}\nwrote ${written.join(', ')}\n`);
  if (dec !== undefined) process.stderr.write(`${verdict(dec).join('\n')}\n`);
}

/** `npm run simulate -- [options]`: exit status 0, 1 on a failure, 2 on bad usage. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: SimulateOptions | 'help';
  try {
    opts = parseSimulate(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(SIMULATE_HELP);
    return 0;
  }
  await simulate(opts, argv);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`simulate: ${err.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
