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
// The upstream's query count is read after the pre-warm and after the measured passes: any upstream query in
// between means a measured query was not a cache hit, and the scenario fails.
import { benchAddress, isBuilt, queryA, runsFor, UsageError, writeQueryFile } from '../lib/index.js';
import { renderCacheHit } from './cache-hit-report.js';
import { jitWarm, latencyPasses, ratioToBaseline, startWarm, stopAllSystems, throughputPass } from './systems.js';

const SYSTEMS = {
  baseline: { label: 'baseline (bench/responder.js)' },
  ballast: { label: 'ballast (cache hits)' },
};

async function startAndWarm(key, opts, queryFile, log) {
  const sut = await startWarm({
    scenario: 'cache-hit',
    key,
    label: SYSTEMS[key].label,
    opts,
    warmFile: queryFile,
    names: opts.names,
    log,
  });
  if (sut.upstream) {
    const n = Math.min(opts.names - 1, 257);
    const r = await queryA(sut.port, `name${n}.bench.test`, 2000);
    if (r?.rcode !== 0 || !r.addresses.includes(benchAddress(n))) {
      throw new Error(`name${n}.bench.test: wanted A ${benchAddress(n)}, got ${JSON.stringify(r)}`);
    }
  }
  await jitWarm(sut, opts, queryFile, opts.names, log);
  if (sut.upstream) sut.result.upstreamAfterWarm = await sut.upstream.count();
  return sut;
}

async function run({ opts, log }) {
  if (opts.systems.includes('ballast') && !isBuilt()) {
    throw new UsageError('dist/cli.js is missing; run `npm run build` (or use `npm run bench`)');
  }
  const queryFile = writeQueryFile('cache-hit.queries.txt', 0, opts.names);
  const suts = [];
  let latency;
  try {
    for (const key of opts.systems) {
      const sysLog = (m) => log(`[${key}] ${m}`);
      suts.push(await startAndWarm(key, opts, queryFile, sysLog));
    }
    // Rounds interleave the systems, so that a slow spell of the machine hits all of them alike.
    const runs = runsFor(opts.maxQps, opts.duration, opts.names);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const sut of suts) await throughputPass(sut, opts, queryFile, runs, round, (m) => log(`[${sut.key}] ${m}`));
    }
    latency = await latencyPasses(suts, opts, queryFile, opts.names, log);
    for (const sut of suts) {
      if (!sut.upstream) continue;
      const r = sut.result;
      r.upstreamAfterMeasured = await sut.upstream.count();
      r.upstreamDuringMeasured = r.upstreamAfterMeasured - r.upstreamAfterWarm;
      r.measuredSent = r.throughputRuns.reduce((a, t) => a + t.sent, 0) + r.latency.sent;
    }
  } finally {
    await stopAllSystems(suts);
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
  return renderCacheHit(results, { opts, latency, failures });
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
