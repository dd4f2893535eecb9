// The fleet simulation (docs/fleet.md): thousands of nodes' DNS on one virtual clock, through ballast's real request
// path (or a model of NodeLocal DNSCache), in front of a model of CoreDNS and its API server. Four scenarios — the
// December 2024 API server outage, CoreDNS unreachable, CoreDNS overloaded, a rolling restart of the node cache during
// an outage — each for every policy it compares, on a sample of nodes that stands for a 5,000-node fleet.
//
//   npm run simulate                         (builds, then: node bench/fleet.js)
//   node bench/fleet.js [--nodes 40] [--seed 1] [--only dec-2024,overload] [--workers 2] [--short] [--out DIR]
//
// With the default options it writes bench/results/fleet.html, fleet.md and fleet-dec-2024.svg and prints the summary;
// any option that changes the figures writes to bench/out/ instead, unless --out says where. --short runs every
// phase 10× shorter (a check that it works, not a result). Uses dist/: run `npm run build` first.

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { scaleReplicas } from './fleet/coredns.js';
import { DEFAULTS } from './fleet/model.js';
import { html, markdown, readmeSvg, verdict } from './fleet/report.js';
import { calibrate } from './fleet/run.js';
import { SCENARIOS, timeline } from './fleet/scenarios.js';
import { invokedAs, OUT_DIR, parseOptionsOrExit, RESULTS_DIR, writeReport } from './lib/index.js';

const opts = parseOptionsOrExit(import.meta.url, {
  nodes: { type: 'int', default: DEFAULTS.nodes, min: 2, max: 5000 },
  seed: { type: 'int', default: DEFAULTS.seed, min: 0, max: 2 ** 31 },
  only: { type: 'choice-list', choices: Object.keys(SCENARIOS), default: Object.keys(SCENARIOS) },
  workers: { type: 'int', default: Math.min(2, os.availableParallelism()), min: 1, max: 16, figures: false },
  short: { type: 'flag' },
  out: { type: 'path', figures: false },
});

const outDir = opts.out ?? (opts.figureFlags.length ? OUT_DIR : RESULTS_DIR);
const base = { nodes: opts.nodes, seed: opts.seed };
const phasesOf = (sc) => (opts.short ? Object.fromEntries(Object.entries(sc.phases).map(([k, v]) => [k, v / 10])) : {});

/** Runs `jobs` on a pool of worker threads, longest first; resolves with the results in the jobs' order. */
function runPool(jobs, workers) {
  const order = jobs.map((j, id) => ({ ...j, id })).sort((a, b) => b.cost - a.cost);
  const results = new Array(jobs.length);
  const pool = [];
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    // Every worker is stopped at the end, whichever way it comes, so the process can exit.
    const finish = (err) =>
      Promise.all(pool.map((w) => w.terminate())).then(() => (err ? reject(err) : resolve(results)));
    const start = (w) => {
      if (next < order.length) w.postMessage({ id: order[next].id, opts: order[next++].opts });
    };
    for (let i = 0; i < Math.min(workers, jobs.length); i++) {
      const w = new Worker(fileURLToPath(new URL('./fleet/worker.js', import.meta.url)));
      w.on('message', (m) => {
        if (m.error) return finish(new Error(m.error));
        results[m.id] = m.result;
        process.stderr.write(`fleet: ${m.result.scenario} / ${m.result.label} done (${++done}/${jobs.length})\n`);
        if (done === jobs.length) finish();
        else start(w);
      });
      w.on('error', finish);
      pool.push(w);
    }
    for (const w of pool) start(w);
  });
}

async function main() {
  const started = Date.now();
  const jobs = [];
  for (const name of opts.only) {
    const sc = SCENARIOS[name];
    const phases = phasesOf(sc);
    const t = timeline(sc, phases);
    const calibratedQps = sc.calibrate ? await calibrate({ ...DEFAULTS, ...base }, t.warmS) : undefined;
    for (const policy of sc.policies) {
      const cost = t.seconds * (policy === 'nodelocal' ? 1 : 4);
      jobs.push({ cost, opts: { ...base, scenario: name, policy, phases, calibratedQps } });
    }
  }
  const flat = await runPool(jobs, opts.workers);
  const results = new Map(opts.only.map((name) => [name, flat.filter((r) => r.scenario === name)]));
  const wallSeconds = Math.round((Date.now() - started) / 1000);
  const c = scaleReplicas({ ...DEFAULTS, ...base });
  const meta = {
    command: invokedAs('bench/fleet.js', process.argv.slice(2), 'simulate'),
    wallSeconds,
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
    writeReport(path.join(outDir, 'fleet.html'), html(results, meta)),
    writeReport(path.join(outDir, 'fleet.md'), markdown(results, meta)),
  ];
  if (results.has('dec-2024'))
    written.push(writeReport(path.join(outDir, 'fleet-dec-2024.svg'), readmeSvg(results.get('dec-2024'))));
  process.stdout.write(`${markdown(results, meta)}\nwrote ${written.join(', ')}\n`);
  if (results.has('dec-2024')) process.stderr.write(`${verdict(results.get('dec-2024')).join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`fleet: ${err?.stack ?? err}\n`);
  process.exit(1);
});
