// Footprint: ballast's memory (RSS) and CPU at stated loads and cache sizes, next to a baseline measured in the same
// run (bench/responder.js, the minimal Node.js UDP responder, at the same loads). The DaemonSet's resources in
// deploy/base/daemonset.yaml are derived from this report (bench/results/footprint.md); test/deploy checks that they
// match it.
//
//   node bench/footprint.js [--names 50000] [--full-names 100000] [--rates 2000,10000] [--duration 30]
//                           [--skip-build] [--out PATH]
//
// With the default options the report replaces bench/results/footprint.md; with any other figure-changing option it
// goes to bench/out/footprint.md unless --out says otherwise. Short check: --names 2000 --full-names 4000
// --rates 500,1000 --duration 3.
//
// Steps (ballast pinned to CPU 0; dnsperf and bench/upstream.js pinned to CPU 1; all traffic on 127.0.0.1):
//   1. build (npm run build) unless --skip-build;
//   2. start ballast with the cache bounds of deploy/base/configmap.yaml (the defaults: 100,000 entries, 64 MiB) and
//      snapshots on, in front of bench/upstream.js; sample it idle;
//   3. fill the cache with NAMES names (one dnsperf pass), then drive each RATE with cache hits for DURATION seconds;
//   4. fill up to FULL_NAMES (= cache.maxEntries, a full cache) and drive the highest rate again;
//   5. drive the lowest rate with misses only (new names: an upstream fetch per query and an LRU eviction per
//      answer), the most expensive steady load there is;
//   6. start the baseline and drive it at every RATE.
// During each phase, /proc/PID/status (VmRSS, VmHWM) is sampled every 250 ms, and /proc/PID/stat (utime + stime,
// every thread) is read at the start and the end; the upstream's query count is read before and after. Every
// dnsperf run is bounded by -l and -n, and killed if it overruns. Only processes started here are stopped, by PID,
// also on error and on Ctrl-C.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CACHE, report, SNAPSHOT_INTERVAL } from './footprint-report.js';
import {
  ballastCommand,
  displayCommand,
  freePort,
  helpText,
  httpGet,
  invokedAs,
  machineBusy,
  machineInfo,
  metricValue,
  parseOptions,
  processCpuSeconds,
  processMemory,
  RESULTS_DIR,
  ROOT,
  reportPath,
  requireLoadTools,
  responderCommand,
  runDnsperf,
  runMain,
  runsFor,
  sleep,
  startSystem,
  startUpstream,
  stopProcess,
  UsageError,
  unlimitedClientYaml,
  writeQueryFile,
  writeReport,
} from './lib/index.js';

const OPTIONS = {
  names: { type: 'int', min: 1, max: 1_000_000, default: 50_000 },
  fullNames: { type: 'int', min: 1, max: 1_000_000, default: CACHE.maxEntries },
  rates: { type: 'int-list', min: 1, max: 100_000, default: [2000, 10_000] },
  duration: { type: 'int', min: 1, max: 600, default: 30 },
  skipBuild: { type: 'flag', figures: false },
  out: { type: 'path', figures: false },
};
/** Rate of the fill passes; high enough to be quick, low enough that the upstream keeps up. */
const FILL_RATE = 20_000;

async function gauges(adminPort) {
  const { body } = await httpGet(adminPort, '/metrics');
  return {
    entries: metricValue(body, 'ballast_cache_entries'),
    cacheBytes: metricValue(body, 'ballast_cache_bytes'),
    heapUsed: metricValue(body, 'ballast_nodejs_heap_size_used_bytes'),
  };
}

/** Runs `load` while sampling `pid`; returns CPU (cores), RSS mean and max, peak RSS, and the load's result. */
async function measure(pid, load) {
  const samples = [];
  const sample = () => samples.push(processMemory(pid).rss);
  sample();
  const cpu0 = processCpuSeconds(pid);
  const t0 = performance.now();
  const timer = setInterval(sample, 250);
  let perf;
  try {
    perf = await load();
  } finally {
    clearInterval(timer);
  }
  const wall = (performance.now() - t0) / 1000;
  const cores = (processCpuSeconds(pid) - cpu0) / wall;
  sample();
  return {
    cores,
    rssMean: samples.reduce((a, b) => a + b, 0) / samples.length,
    rssMax: Math.max(...samples),
    hwm: processMemory(pid).hwm,
    perf,
  };
}

/** dnsperf at a fixed rate: -Q RATE for at most DURATION s and at most RUNS passes over the file. */
const drive = (tag, port, file, { rate, duration, runs }) =>
  runDnsperf(`footprint.${tag}`, port, file, { duration, runs, qps: rate, outstanding: 200 });

async function run(opts) {
  const log = (m) => process.stderr.write(`[footprint] ${m}\n`);
  const rows = [];
  const { duration, rates } = opts;
  const low = rates[0];
  const high = rates[rates.length - 1];

  const upstream = await startUpstream('footprint');
  const port = await freePort();
  const adminPort = await freePort();
  // Everything else is as in deploy/base/configmap.yaml; the client limit is lifted because all load comes from
  // one address here (in a cluster each pod is its own client).
  const config = [unlimitedClientYaml(), `cache: { maxEntries: ${CACHE.maxEntries}, maxBytes: ${CACHE.maxBytes} }`];
  const ballastArgv = ballastCommand({
    port,
    upstreamPort: upstream.port,
    adminPort,
    config: config.join('\n'),
    snapshotInterval: SNAPSHOT_INTERVAL,
  });
  log(`starting ballast: ${displayCommand(ballastArgv)}`);
  const ballast = await startSystem('footprint.ballast', ballastArgv, port);
  const pid = ballast.pid; // taskset execs the program, so this is ballast's own PID
  const record = async (phase, load, measuring) => {
    const before = await upstream.count();
    const m = await measure(pid, measuring);
    if (ballast.exitInfo) throw new Error(`ballast exited (${JSON.stringify(ballast.exitInfo)})`);
    const g = await gauges(adminPort);
    rows.push({ system: 'ballast', phase, load, ...m, ...g, upstream: (await upstream.count()) - before });
    log(
      `${phase}: ${(m.rssMax / 2 ** 20).toFixed(1)} MiB RSS max, ${Math.round(m.cores * 1000)}m CPU, ${g.entries} entries`,
    );
  };
  const fmt = (n) => n.toLocaleString('en-US');

  await sleep(2000);
  await record('idle, empty cache', '0', () => sleep(5000));

  const names = writeQueryFile('footprint.names.txt', 0, opts.names);
  log(`filling the cache with ${opts.names} names`);
  await drive('fill', port, names, { rate: FILL_RATE, duration: 120, runs: 1 });
  await record(`idle, ${fmt(opts.names)} entries`, '0', () => sleep(5000));
  for (const rate of rates) {
    const runs = runsFor(rate, duration, opts.names);
    await record(`cache hits, ${fmt(opts.names)} names`, `${fmt(rate)}/s`, () =>
      drive(`hits-${rate}`, port, names, { rate, duration, runs }),
    );
  }

  const all = writeQueryFile('footprint.full.txt', 0, opts.fullNames);
  if (opts.fullNames > opts.names) {
    log(`filling the cache up to ${opts.fullNames} names`);
    const more = writeQueryFile('footprint.more.txt', opts.names, opts.fullNames);
    await drive('fill-more', port, more, { rate: FILL_RATE, duration: 120, runs: 1 });
  }
  await record(`cache hits, ${fmt(opts.fullNames)} names (full cache)`, `${fmt(high)}/s`, () =>
    drive(`hits-full-${high}`, port, all, { rate: high, duration, runs: runsFor(high, duration, opts.fullNames) }),
  );
  const fresh = writeQueryFile('footprint.misses.txt', opts.fullNames, opts.fullNames + low * duration);
  await record('misses only (upstream fetch + eviction each)', `${fmt(low)}/s`, () =>
    drive(`misses-${low}`, port, fresh, { rate: low, duration, runs: 1 }),
  );
  const upstreamCount = await upstream.count();
  await stopProcess(ballast);
  await stopProcess(upstream.child);

  const respPort = await freePort();
  const responder = await startSystem('footprint.baseline', responderCommand(respPort), respPort);
  await sleep(2000);
  const baseRow = async (phase, load, measuring) => {
    const m = await measure(responder.pid, measuring);
    rows.push({ system: 'baseline', phase, load, ...m });
    log(
      `baseline ${phase} ${load}: ${(m.rssMax / 2 ** 20).toFixed(1)} MiB RSS max, ${Math.round(m.cores * 1000)}m CPU`,
    );
  };
  await baseRow('idle', '0', () => sleep(5000));
  for (const rate of rates) {
    const runs = runsFor(rate, duration, opts.names);
    await baseRow('canned answer', `${fmt(rate)}/s`, () =>
      drive(`baseline-${rate}`, respPort, names, { rate, duration, runs }),
    );
  }
  await stopProcess(responder);
  return { rows, upstreamCount, ballastCommand: displayCommand(ballastArgv) };
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseOptions(argv, OPTIONS);
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  if (opts.fullNames < opts.names) throw new UsageError('--full-names must be at least --names');
  opts.rates.sort((a, b) => a - b);
  const dnsperf = requireLoadTools();
  if (!opts.skipBuild) {
    process.stderr.write('[footprint] npm run build\n');
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const ctx = { date: new Date(), command: invokedAs('bench/footprint.js', argv), dnsperf, ...machineInfo() };
  ctx.busy = await machineBusy(2000);
  const result = await run(opts);
  const { text, derived } = report(result, opts, ctx);
  const written = writeReport(reportPath(opts, path.join(RESULTS_DIR, 'footprint.md')), text);
  process.stdout.write(
    `requests: cpu ${derived.cpuRequest}m, memory ${derived.memRequest}Mi; limits: memory ${derived.memLimit}Mi\n` +
      `report written to ${written}\n`,
  );
  return 0;
}

runMain('footprint', main);
