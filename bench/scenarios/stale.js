// Stale serving with the upstream blackholed (RFC 8767): ballast answering expired entries while bench/upstream.js is
// stopped (SIGSTOP: it receives and never answers), against the bare responder in the same run.
//
// ballast caps every TTL at 1 s (`cache.maxTtlSeconds: 1`), is pre-warmed over every name, waits until every entry
// has expired, then the upstream is stopped and a few seconds of unreported full load let ballast find out (its
// breaker opens after a few timeouts; until then a client waits for the refresh up to stale.clientTimeoutMs). The
// measured passes are then all stale answers: every answer must be NOERROR (a stale answer keeps its rcode, with TTL
// 30 and EDE 3), and the upstream, stopped, answers nothing. The upstream is continued and stopped at the end.
import { isBuilt, runsFor, sleep, UsageError, writeQueryFile } from '../lib/index.js';
import { renderCacheHit } from './cache-hit-report.js';
import { jitWarm, latencyPasses, ratioToBaseline, startWarm, stopAllSystems, throughputPass } from './systems.js';

const SYSTEMS = {
  baseline: { label: 'baseline (bench/responder.js)' },
  ballast: { label: 'ballast (stale answers, upstream blackholed)' },
};
/** Seconds of full load after the upstream stopped and before measuring: the breaker opens within this. */
const DISCOVER_SECONDS = 5;

async function run({ opts, log }) {
  if (opts.systems.includes('ballast') && !isBuilt())
    throw new UsageError('dist/cli.js is missing; run `npm run build`');
  const file = writeQueryFile('stale.queries.txt', 0, opts.names);
  const suts = [];
  const failures = [];
  let latency;
  try {
    for (const key of opts.systems) {
      const sysLog = (m) => log(`[${key}] ${m}`);
      const sut = await startWarm({
        scenario: 'stale',
        key,
        label: SYSTEMS[key].label,
        opts,
        warmFile: file,
        names: opts.names,
        config: 'cache: { maxTtlSeconds: 1 }',
        log: sysLog,
      });
      suts.push(sut);
      if (sut.upstream) {
        await sleep(1500); // every entry past its 1 s TTL
        sysLog(`blackholing the upstream (SIGSTOP ${sut.upstream.child.pid})`);
        process.kill(sut.upstream.child.pid, 'SIGSTOP');
        sut.stopped = true;
        await jitWarm(sut, { ...opts, duration: Math.max(opts.duration, DISCOVER_SECONDS) }, file, opts.names, sysLog);
      } else {
        await jitWarm(sut, opts, file, opts.names, sysLog);
      }
    }
    const runs = runsFor(opts.maxQps, opts.duration, opts.names);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const sut of suts) await throughputPass(sut, opts, file, runs, round, (m) => log(`[${sut.key}] ${m}`));
    }
    latency = await latencyPasses(suts, opts, file, opts.names, log);
    for (const sut of suts) {
      const r = sut.result;
      const bad = r.throughputRuns.filter((t) => (t.rcodeCounts.NOERROR ?? 0) !== t.completed);
      if (bad.length)
        failures.push(`${sut.key}: some answers were not NOERROR (${bad.map((t) => t.rcodes).join('; ')})`);
    }
  } finally {
    for (const sut of suts) if (sut.stopped) process.kill(sut.upstream.child.pid, 'SIGCONT');
    await stopAllSystems(suts);
  }
  const results = suts.map((s) => s.result);
  const base = results.find((r) => r.key === 'baseline');
  for (const r of results) r.ratioToBaseline = base ? ratioToBaseline(r, base) : null;
  const setup =
    `- Setup: as in the cache-hit scenario (servers on CPU 0, dnsperf on CPU 1, UDP over 127.0.0.1, ${opts.names} ` +
    'names `nameN.bench.test A`), but ballast runs with `cache.maxTtlSeconds: 1`: after the pre-warm it waits 1.5 s ' +
    '(every entry expired), bench/upstream.js is stopped with SIGSTOP (it receives and never answers), and ' +
    `${Math.max(opts.duration, DISCOVER_SECONDS)}s of unreported full load let ballast find the upstream down. Every ` +
    'measured answer is then stale (NOERROR, TTL 30, EDE 3 for EDNS clients); a pass with any other rcode fails the ' +
    'scenario.';
  return renderCacheHit(results, { opts, latency, failures, setup, upstreamNote: () => '' });
}

export default {
  name: 'stale',
  title: 'Stale answers with the upstream blackholed, against a bare Node.js UDP responder',
  summary: 'throughput and latency of stale answers (RFC 8767) while the upstream never answers',
  needs: ['dnsperf', 'build'],
  run,
};
