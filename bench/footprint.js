// Footprint: ballast's memory (RSS) and CPU idle, with 10,000, 100,000 and 1,000,000 cached entries of realistic
// sizes (bench/lib/mix.js: A, AAAA, SRV, multi-address A and 1 KB TXT answers), at fixed rates of cache hits, under a
// flood of unique names past the cache's bounds, next to a baseline measured in the same run (bench/responder.js,
// the bare Node.js UDP responder, at the same rates). The DaemonSet's resources in deploy/base/daemonset.yaml are
// derived from this report (bench/results/footprint.md); test/deploy checks that they match it.
//
//   node bench/footprint.js [--sizes 10000,100000] [--large 1000000] [--rates 2000,10000] [--cpu-rate 5000]
//                           [--flood-rate 5000] [--duration 30] [--compare 100000] [--skip-build] [--out PATH]
//
// With the default options the report replaces bench/results/footprint.md; with any other figure-changing option it
// goes to bench/out/footprint.md unless --out says otherwise. Short check: --sizes 2000,5000 --large 0
// --rates 500,1000 --cpu-rate 500 --flood-rate 500 --duration 3 --compare 5000.
//
// Steps (ballast pinned to CPU 0; dnsperf and bench/upstream.js pinned to CPU 1; all traffic on 127.0.0.1; ballast
// runs as `node bin/ballast.js serve`, which its launcher makes lean: bin/lean.js):
//   1. build (npm run build) unless --skip-build;
//   2. start ballast with the cache bounds of deploy/base/configmap.yaml and snapshots on, in front of
//      bench/upstream.js; sample it idle;
//   3. fill the cache to each of SIZES entries (one dnsperf pass over the new names) and sample it idle after each;
//   4. drive each RATE, then CPU_RATE, with cache hits over the largest size;
//   5. flood: unique names only (an upstream fetch and an eviction per answer) at FLOOD_RATE, past both bounds;
//   6. a second ballast with bounds for LARGE entries: fill it and sample it idle (skipped with --large 0);
//   7. the ways to start it, each a fresh ballast: `ballast serve`, the image's ENTRYPOINT and ENV lines, and
//      BALLAST_LEAN=0; each sampled idle, filled with COMPARE names and sampled idle again (skipped with --compare 0);
//   8. start the baseline and drive it idle, at every RATE and at CPU_RATE.
// During each phase, /proc/PID/status (VmRSS, VmHWM) is sampled every 250 ms, and /proc/PID/stat (utime + stime,
// every thread) is read at the start and the end; the upstream's query count is read before and after. Every
// dnsperf run is bounded by -l and -n, and killed if it overruns. Only processes started here are stopped, by PID,
// also on error and on Ctrl-C.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CACHE, largeCache, report, SNAPSHOT_INTERVAL } from './footprint-report.js';
import {
  ballastCommand,
  displayCommand,
  freePort,
  helpText,
  httpGet,
  invokedAs,
  machineBusy,
  machineInfo,
  meanStoredSize,
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
  writeMixFile,
  writeReport,
} from './lib/index.js';

const OPTIONS = {
  sizes: { type: 'int-list', min: 1, max: 1_000_000, default: [10_000, CACHE.maxEntries] },
  large: { type: 'int', min: 0, max: 2_000_000, default: 1_000_000 },
  rates: { type: 'int-list', min: 1, max: 100_000, default: [2000, 10_000] },
  cpuRate: { type: 'int', min: 1, max: 100_000, default: 5000 },
  floodRate: { type: 'int', min: 1, max: 100_000, default: 5000 },
  duration: { type: 'int', min: 1, max: 600, default: 30 },
  compare: { type: 'int', min: 0, max: CACHE.maxEntries, default: CACHE.maxEntries },
  skipBuild: { type: 'flag', figures: false },
  out: { type: 'path', figures: false },
};
/** Rate of the fill passes; high enough to be quick, low enough that ballast and the upstream keep up. */
const FILL_RATE = 10_000;
/** Idle samples last this long. */
const IDLE_MS = 5000;

async function gauges(adminPort) {
  const { body } = await httpGet(adminPort, '/metrics');
  return {
    entries: metricValue(body, 'ballast_cache_entries'),
    cacheBytes: metricValue(body, 'ballast_cache_bytes'),
    heapUsed: metricValue(body, 'ballast_nodejs_heap_size_used_bytes'),
  };
}

/** Runs `load` while sampling `pid`; returns CPU (cores and seconds), RSS mean and max, peak RSS, the load's result. */
async function measure(pid, load, sampleGauges) {
  const samples = [];
  let maxCacheBytes = 0;
  const sample = () => samples.push(processMemory(pid).rss);
  sample();
  const cpu0 = processCpuSeconds(pid);
  const t0 = performance.now();
  const timer = setInterval(sample, 250);
  // The cache gauge during the phase, every second, when asked (the bound must hold at every moment).
  const gaugeTimer = sampleGauges
    ? setInterval(() => sampleGauges().then((g) => (maxCacheBytes = Math.max(maxCacheBytes, g.cacheBytes))), 1000)
    : undefined;
  let perf;
  try {
    perf = await load();
  } finally {
    clearInterval(timer);
    clearInterval(gaugeTimer);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpuSeconds = processCpuSeconds(pid) - cpu0;
  sample();
  const end = processMemory(pid);
  return {
    cores: cpuSeconds / wall,
    anon: end.anon,
    file: end.file,
    cpuSeconds,
    rssMean: samples.reduce((a, b) => a + b, 0) / samples.length,
    rssMax: Math.max(...samples),
    hwm: processMemory(pid).hwm,
    maxCacheBytes: sampleGauges ? maxCacheBytes : undefined,
    perf,
  };
}

/** dnsperf at a fixed rate: -Q RATE for at most DURATION s and at most RUNS passes over the file. */
const drive = (tag, port, file, { rate, duration, runs }) =>
  runDnsperf(`footprint.${tag}`, port, file, { duration, runs, qps: rate, outstanding: 200 });

const fmt = (n) => n.toLocaleString('en-US');
const log = (m) => process.stderr.write(`[footprint] ${m}\n`);

/** Starts ballast with `cache` bounds in front of `upstream`; returns what the phases need. */
async function startBallast(name, upstream, cache, way = 'serve') {
  const port = await freePort();
  const adminPort = await freePort();
  // Everything else is as in deploy/base/configmap.yaml.
  const config = [`cache: { maxEntries: ${cache.maxEntries}, maxBytes: ${cache.maxBytes} }`];
  const argv = ballastCommand({
    port,
    upstreamPort: upstream.port,
    adminPort,
    config: config.join('\n'),
    snapshotInterval: SNAPSHOT_INTERVAL,
    way,
  });
  log(`starting ${name}: ${displayCommand(argv)}`);
  const child = await startSystem(`footprint.${name}`, argv, port);
  return { child, port, adminPort, argv }; // taskset execs the program, so child.pid is ballast's own PID
}

/** The phases of one ballast instance; rows go to `rows`. */
function recorder(rows, system, ballast, upstream) {
  // `watch`: read /metrics every second during the phase (the flood, whose bound must hold at every moment). Other
  // phases read it once at the end: a scrape costs CPU, and Prometheus scrapes every 15-30 s, not every second.
  return async (phase, load, measuring, extra = {}, watch = false) => {
    const before = await upstream.count();
    const m = await measure(ballast.child.pid, measuring, watch ? () => gauges(ballast.adminPort) : undefined);
    if (ballast.child.exitInfo) throw new Error(`ballast exited (${JSON.stringify(ballast.child.exitInfo)})`);
    const g = await gauges(ballast.adminPort);
    rows.push({ system, phase, load, ...m, ...g, ...extra, upstream: (await upstream.count()) - before });
    log(
      `${phase} ${load}: ${(m.rssMean / 2 ** 20).toFixed(1)} MiB RSS mean, ${Math.round(m.cores * 1000)}m CPU, ${g.entries} entries`,
    );
  };
}

async function fill(tag, ballast, from, to) {
  if (to <= from) return;
  log(`filling entries ${fmt(from)}–${fmt(to)}`);
  const file = writeMixFile(`footprint.${tag}.txt`, from, to);
  // One pass through the file ends the run; the time bound leaves room for a miss path at a quarter of FILL_RATE
  // (fills are all misses, and each waits for the upstream), so a large fill is not cut short.
  const duration = Math.ceil((to - from) / (FILL_RATE / 4)) + 60;
  // A second pass asks again what the first lost (a query that timed out under the fill's load); the names the
  // cache already holds are hits.
  for (const pass of [1, 2]) await drive(`${tag}-${pass}`, ballast.port, file, { rate: FILL_RATE, duration, runs: 1 });
}

/**
 * The same instance started each way people start it (bench/lib/ballast.js startWay): idle after start, then idle
 * again after a fill of `size` entries. Each way gets a fresh process, the same config and the same names.
 */
async function compareWays(upstream, size) {
  const ways = [];
  for (const way of ['serve', 'image', 'unlean']) {
    const b = await startBallast(`ballast-${way}`, upstream, CACHE, way);
    await sleep(2000);
    const idle = await measure(b.child.pid, () => sleep(IDLE_MS));
    await fill(`ways-${way}`, b, 0, size);
    const full = await measure(b.child.pid, () => sleep(IDLE_MS));
    const { entries } = await gauges(b.adminPort);
    ways.push({ way, command: displayCommand(b.argv), idle, full, entries, size });
    log(`started as ${way}: ${(idle.rssMean / 2 ** 20).toFixed(1)} → ${(full.rssMean / 2 ** 20).toFixed(1)} MiB`);
    await stopProcess(b.child);
  }
  return ways;
}

async function run(opts) {
  const rows = [];
  const { duration, rates } = opts;
  const sizes = [...opts.sizes].sort((a, b) => a - b);
  const full = sizes[sizes.length - 1];
  const upstream = await startUpstream('footprint');

  const a = await startBallast('ballast', upstream, CACHE);
  const record = recorder(rows, 'ballast', a, upstream);
  await sleep(2000);
  await record('idle, empty cache', '0', () => sleep(IDLE_MS));
  let have = 0;
  for (const size of sizes) {
    await fill(`fill-${size}`, a, have, size);
    have = size;
    await record(`idle, ${fmt(size)} entries`, '0', () => sleep(IDLE_MS), {
      size,
      meanMessage: meanStoredSize(0, size),
    });
  }
  const hits = writeMixFile('footprint.hits.txt', 0, full);
  // The fixed-rate CPU phase comes apart from the others even when its rate is one of them (its own row).
  const phases = [...rates.map((rate) => [rate, '']), [opts.cpuRate, ' (CPU per query)']];
  for (const [rate, what] of phases) {
    await record(`cache hits, ${fmt(full)} names${what}`, `${fmt(rate)}/s`, () =>
      drive(`hits-${rate}${what ? '-cpu' : ''}`, a.port, hits, { rate, duration, runs: runsFor(rate, duration, full) }),
    );
  }
  const floodNames = opts.floodRate * duration;
  const flood = writeMixFile('footprint.flood.txt', 2_000_000, 2_000_000 + floodNames);
  await record(
    `flood: ${fmt(floodNames)} unique names (a fetch and an eviction each)`,
    `${fmt(opts.floodRate)}/s`,
    () => drive(`flood-${opts.floodRate}`, a.port, flood, { rate: opts.floodRate, duration, runs: 1 }),
    {},
    true,
  );
  await stopProcess(a.child);

  let large;
  if (opts.large > 0) {
    large = largeCache(opts.large);
    const b = await startBallast('ballast-large', upstream, large);
    const recordLarge = recorder(rows, 'ballast (large cache)', b, upstream);
    await sleep(2000);
    await recordLarge('idle, empty cache', '0', () => sleep(IDLE_MS));
    let had = 0;
    for (const size of [Math.min(full, opts.large), opts.large]) {
      if (size <= had) continue;
      await fill(`fill-large-${size}`, b, had, size);
      had = size;
      await recordLarge(`idle, ${fmt(size)} entries`, '0', () => sleep(IDLE_MS), {
        size,
        meanMessage: meanStoredSize(0, size),
      });
    }
    await stopProcess(b.child);
  }
  const ways = opts.compare > 0 ? await compareWays(upstream, opts.compare) : [];
  const upstreamCount = await upstream.count();
  await stopProcess(upstream.child);

  const respPort = await freePort();
  const responder = await startSystem('footprint.baseline', responderCommand(respPort), respPort);
  await sleep(2000);
  const baseRow = async (phase, load, measuring) => {
    const m = await measure(responder.pid, measuring);
    rows.push({ system: 'baseline', phase, load, ...m });
    log(
      `baseline ${phase} ${load}: ${(m.rssMean / 2 ** 20).toFixed(1)} MiB RSS mean, ${Math.round(m.cores * 1000)}m CPU`,
    );
  };
  await baseRow('idle', '0', () => sleep(IDLE_MS));
  for (const [rate, what] of phases) {
    await baseRow(`canned answer${what}`, `${fmt(rate)}/s`, () =>
      drive(`baseline-${rate}${what ? '-cpu' : ''}`, respPort, hits, {
        rate,
        duration,
        runs: runsFor(rate, duration, full),
      }),
    );
  }
  await stopProcess(responder);
  return { rows, ways, upstreamCount, large, ballastCommand: displayCommand(a.argv) };
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseOptions(argv, OPTIONS);
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  if (Math.max(...opts.sizes) > CACHE.maxEntries) {
    throw new UsageError(`--sizes: at most cache.maxEntries (${CACHE.maxEntries}); use --large for more`);
  }
  opts.rates.sort((x, y) => x - y);
  const dnsperf = requireLoadTools();
  if (!opts.skipBuild) {
    process.stderr.write('[footprint] npm run build\n');
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const ctx = { date: new Date(), command: invokedAs('bench/footprint.js', argv), dnsperf, ...machineInfo() };
  ctx.busy = await machineBusy(2000);
  const result = await run(opts);
  ctx.busyAfter = await machineBusy(2000);
  const { text, derived } = await report(result, opts, ctx);
  const written = writeReport(reportPath(opts, path.join(RESULTS_DIR, 'footprint.md')), text);
  process.stdout.write(
    `requests: cpu ${derived.cpuRequest}m, memory ${derived.memRequest}Mi; limits: memory ${derived.memLimit}Mi\n` +
      `report written to ${written}\n`,
  );
  return 0;
}

runMain('footprint', main);
