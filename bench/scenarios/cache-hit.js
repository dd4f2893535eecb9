// Cache hits: ballast answering from its cache against the fastest reasonable Node.js DNS server
// (bench/responder.js, one canned answer), each pinned to the server CPU and driven by dnsperf from the other.
//
// Per system: start it, wait until it answers, pre-warm (one pass over every name, which must come back NOERROR
// for every name, then a short full-load pass so the JIT settles), then:
//   1. throughput: ROUNDS passes of dnsperf -l DURATION -q OUTSTANDING -Q MAX_QPS per system, interleaved across
//      systems (A B A B ...), since a small VM's speed drifts by tens of percent from minute to minute; the median
//      pass is reported, and each pass records how the server CPU was shared (server / irq / other);
//   2. latency, once every system had its throughput passes (all stay up, idle when not measured): one dnsperf -v
//      pass per system at one fixed rate, half the slowest system's queries/s, so that none is overloaded.
// ballast runs with the per-client limit lifted (dnsperf is one client; see unlimitedClientYaml in bench/lib), and
// the upstream's query count is read after the pre-warm and after the measured passes: any upstream query in
// between means a measured query was not a cache hit, and the scenario fails.
import {
  ballastCommand,
  benchAddress,
  cpuShareDuring,
  displayCommand,
  formatCpuShare,
  freePort,
  isBuilt,
  latencyPass,
  median,
  pinned,
  queryA,
  responderCommand,
  runDnsperf,
  runsFor,
  SERVER_CPU,
  startSystem,
  startUpstream,
  stopProcess,
  UsageError,
  unlimitedClientYaml,
  writeQueryFile,
} from '../lib/index.js';
import { renderCacheHit } from './cache-hit-report.js';

/** The latency pass runs at this fraction of the slowest system's queries/s. */
const LATENCY_LOAD = 0.5;
/** Seconds of unreported full load after the fill pass, for the JIT. */
const JIT_SECONDS = 3;

const SYSTEMS = {
  baseline: { label: 'baseline (bench/responder.js)', upstream: false },
  ballast: { label: 'ballast (cache hits)', upstream: true },
};

async function startAndWarm(key, opts, queryFile, log) {
  const tag = `cache-hit.${key}`;
  const port = await freePort();
  const result = { key, label: SYSTEMS[key].label, throughputRuns: [] };
  let upstream = null;
  let argv;
  if (SYSTEMS[key].upstream) {
    upstream = await startUpstream(tag);
    const adminPort = await freePort();
    argv = ballastCommand({ port, upstreamPort: upstream.port, adminPort, config: unlimitedClientYaml() });
  } else {
    argv = responderCommand(port);
  }
  result.command = displayCommand(pinned(SERVER_CPU, argv));
  log(`starting: ${result.command}`);
  const sut = { key, tag, port, upstream, result, server: null };
  try {
    sut.server = await startSystem(tag, argv, port);
  } catch (err) {
    if (upstream) await stopProcess(upstream.child);
    throw err;
  }

  log(`pre-warm: one pass over ${opts.names} names`);
  const load = { outstanding: opts.outstanding, clients: opts.clients };
  result.fill = await runDnsperf(`${tag}.warm-fill`, port, queryFile, { duration: 60, runs: 1, timeout: 5, ...load });
  const noerror = result.fill.rcodeCounts.NOERROR ?? 0;
  if (noerror !== opts.names) {
    throw new Error(
      `${key}: the pre-warm pass got NOERROR for ${noerror} of ${opts.names} names (${result.fill.rcodes || 'no answers'}, ` +
        `${result.fill.lost} lost), so the measured passes would not be cache hits only`,
    );
  }
  if (upstream) {
    const n = Math.min(opts.names - 1, 257);
    const r = await queryA(port, `name${n}.bench.test`, 2000);
    if (r?.rcode !== 0 || !r.addresses.includes(benchAddress(n))) {
      throw new Error(`name${n}.bench.test: wanted A ${benchAddress(n)}, got ${JSON.stringify(r)}`);
    }
  }
  const jit = Math.min(JIT_SECONDS, opts.duration);
  log(`pre-warm: ${jit}s at full load`);
  const runs = runsFor(opts.maxQps, jit, opts.names);
  await runDnsperf(`${tag}.warm-load`, port, queryFile, { duration: jit, runs, qps: opts.maxQps, ...load });
  ensureAlive(sut, 'during the pre-warm');
  if (upstream) result.upstreamAfterWarm = await upstream.count();
  return sut;
}

function ensureAlive(sut, phase) {
  if (sut.server.exitInfo) throw new Error(`${sut.key} exited ${phase} (${JSON.stringify(sut.server.exitInfo)})`);
}

async function throughputPass(sut, opts, queryFile, round, log) {
  log(`throughput round ${round}/${opts.rounds}: ${opts.duration}s, -q ${opts.outstanding}, -Q ${opts.maxQps}`);
  const { result: run, cpu } = await cpuShareDuring(sut.server.pid, () =>
    runDnsperf(`${sut.tag}.throughput-${round}`, sut.port, queryFile, {
      duration: opts.duration,
      runs: runsFor(opts.maxQps, opts.duration, opts.names),
      outstanding: opts.outstanding,
      clients: opts.clients,
      qps: opts.maxQps,
    }),
  );
  run.cpu = cpu;
  log(`  ${run.qps.toFixed(0)} queries/s, lost ${run.lost}; ${formatCpuShare(cpu)}`);
  ensureAlive(sut, 'during a throughput pass');
  const { result } = sut;
  result.throughputRuns.push(run);
  // The reported pass is the median one by queries/s (its other figures come from the same pass).
  const sorted = [...result.throughputRuns].sort((a, b) => a.qps - b.qps);
  result.throughput = sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Queries/s relative to the baseline: the median over rounds of (system / baseline) of the same round, which
 * cancels most of the machine's drift since the two passes of a round run back to back.
 */
function ratioToBaseline(r, base) {
  const n = Math.min(r.throughputRuns.length, base.throughputRuns.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(r.throughputRuns[i].qps / base.throughputRuns[i].qps);
  return median(ratios);
}

async function run({ opts, log, busyBefore }) {
  if (opts.systems.includes('ballast') && !isBuilt()) {
    throw new UsageError('dist/cli.js is missing; run `npm run build` (or use `npm run bench`)');
  }
  const queryFile = writeQueryFile('cache-hit.queries.txt', 0, opts.names);
  const suts = [];
  const latency = { qps: opts.latencyQps, source: opts.latencyQps ? 'set by --latency-qps' : null };
  try {
    for (const key of opts.systems) {
      const sysLog = (m) => log(`[${key}] ${m}`);
      suts.push(await startAndWarm(key, opts, queryFile, sysLog));
    }
    // Rounds interleave the systems, so that a slow spell of the machine hits all of them alike.
    for (let round = 1; round <= opts.rounds; round++) {
      for (const sut of suts) await throughputPass(sut, opts, queryFile, round, (m) => log(`[${sut.key}] ${m}`));
    }
    if (!latency.qps) {
      const slowest = suts.reduce((a, b) => (b.result.throughput.qps < a.result.throughput.qps ? b : a));
      latency.qps = Math.max(1, Math.round(slowest.result.throughput.qps * LATENCY_LOAD));
      latency.source = `${LATENCY_LOAD * 100}% of the slowest system's queries/s (${slowest.key})`;
    }
    for (const sut of suts) {
      log(`[${sut.key}] latency: ${opts.duration}s at ${latency.qps} queries/s`);
      sut.result.latency = await latencyPass(`${sut.tag}.latency`, sut.port, queryFile, {
        duration: opts.duration,
        qps: latency.qps,
        names: opts.names,
        outstanding: opts.outstanding,
        clients: opts.clients,
      });
      ensureAlive(sut, 'during the latency pass');
    }
    for (const sut of suts) {
      if (!sut.upstream) continue;
      const r = sut.result;
      r.upstreamAfterMeasured = await sut.upstream.count();
      r.upstreamDuringMeasured = r.upstreamAfterMeasured - r.upstreamAfterWarm;
      r.measuredSent = r.throughputRuns.reduce((a, t) => a + t.sent, 0) + r.latency.sent;
    }
  } finally {
    for (const sut of suts) {
      await stopProcess(sut.server);
      if (sut.upstream) await stopProcess(sut.upstream.child);
    }
  }
  const results = suts.map((s) => s.result);
  const base = results.find((r) => r.key === 'baseline');
  for (const r of results) r.ratioToBaseline = base ? ratioToBaseline(r, base) : null;

  const failures = results
    .filter((r) => r.upstreamDuringMeasured > 0)
    .map(
      (r) =>
        `${r.key}: the upstream answered ${r.upstreamDuringMeasured} queries during the measured passes, so not ` +
        'every measured query was a cache hit (it must be 0; see bench/out/cache-hit.*)',
    );
  const rendered = renderCacheHit(results, { opts, latency, busyBefore, failures });
  return {
    markdown: rendered.markdown,
    summary: rendered.summary,
    warnings: rendered.warnings,
    failures,
    json: { latencyQps: latency.qps, latencyQpsSource: latency.source, systems: results.map(toJson) },
  };
}

/** A system's figures without the per-pass file paths. */
function toJson(r) {
  const strip = ({ outFile, ...rest }) => rest;
  return {
    ...r,
    fill: strip(r.fill),
    throughput: strip(r.throughput),
    throughputRuns: r.throughputRuns.map(strip),
    latency: strip(r.latency),
  };
}

export default {
  name: 'cache-hit',
  title: 'Cache hits: ballast against a bare Node.js UDP responder',
  summary: 'throughput and latency of cache hits, next to bench/responder.js (one canned answer)',
  needs: ['dnsperf'],
  options: {
    systems: {
      type: 'choice-list',
      choices: Object.keys(SYSTEMS),
      default: Object.keys(SYSTEMS),
      help: 'LIST: baseline,ballast (default both)',
    },
    latencyQps: {
      type: 'int',
      min: 1,
      max: 10_000_000,
      help: "N: rate of the latency pass (default: 50% of the slowest system's queries/s)",
    },
  },
  run,
};
