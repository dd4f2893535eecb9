// A 95 % hit / 5 % miss mix: one query in twenty is a name never asked before (an upstream fetch, an insert and, once
// the cache is full, an eviction), the rest are cache hits over the pre-warmed names; against the bare responder on
// the same query files.
//
// dnsperf repeats its query file, so every pass gets a file of its own whose miss names no earlier pass used; a file
// holds enough queries for DURATION seconds at min(--max-qps, 100,000)/s. The upstream's query count during the
// measured passes must be about the misses sent (reported, with their share).
import fs from 'node:fs';
import path from 'node:path';
import { ensureOutDir, fmtInt, isBuilt, UsageError } from '../lib/index.js';
import { renderCacheHit } from './cache-hit-report.js';
import { jitWarm, latencyPasses, ratioToBaseline, startWarm, stopAllSystems, throughputPass } from './systems.js';

const SYSTEMS = {
  baseline: { label: 'baseline (bench/responder.js)' },
  ballast: { label: 'ballast (95 % hits, 5 % misses)' },
};
const MISS_EVERY = 20;
const MISS_BASE = 10_000_000;

/** A query file: hits over names [0, names), every MISS_EVERY-th line a new name from `missFrom` on. */
function mixedFile(tag, names, lines, missFrom) {
  const out = [];
  let miss = missFrom;
  for (let i = 0; i < lines; i++) {
    out.push(i % MISS_EVERY === MISS_EVERY - 1 ? `name${miss++}.bench.test A` : `name${i % names}.bench.test A`);
  }
  const file = path.join(ensureOutDir(), `mixed.${tag}.txt`);
  fs.writeFileSync(file, `${out.join('\n')}\n`);
  return { file, next: miss };
}

async function run({ opts, log }) {
  if (opts.systems.includes('ballast') && !isBuilt())
    throw new UsageError('dist/cli.js is missing; run `npm run build`');
  const lines = Math.min(opts.maxQps, 100_000) * opts.duration;
  const warm = mixedFile('warm', opts.names, opts.names, 0).file; // hits only: every name once
  const suts = [];
  let latency;
  const misses = { sent: 0 };
  try {
    for (const key of opts.systems) {
      const sysLog = (m) => log(`[${key}] ${m}`);
      const sut = await startWarm({
        scenario: 'mixed',
        key,
        label: SYSTEMS[key].label,
        opts,
        warmFile: warm,
        names: opts.names,
        log: sysLog,
      });
      await jitWarm(sut, opts, warm, opts.names, sysLog);
      if (sut.upstream) sut.result.upstreamAfterWarm = await sut.upstream.count();
      suts.push(sut);
    }
    // Each round's file has its own miss names; both systems of a round get the same file.
    let missFrom = MISS_BASE;
    for (let round = 1; round <= opts.rounds; round++) {
      const f = mixedFile(`round-${round}`, opts.names, lines, missFrom);
      missFrom = f.next;
      for (const sut of suts) await throughputPass(sut, opts, f.file, 1, round, (m) => log(`[${sut.key}] ${m}`));
    }
    const f = mixedFile('latency', opts.names, lines, missFrom);
    latency = await latencyPasses(suts, opts, f.file, lines, log);
    for (const sut of suts) {
      if (!sut.upstream) continue;
      const r = sut.result;
      r.upstreamDuringMeasured = (await sut.upstream.count()) - r.upstreamAfterWarm;
      r.measuredSent = r.throughputRuns.reduce((a, t) => a + t.sent, 0) + r.latency.sent;
      misses.sent = Math.floor(r.measuredSent / MISS_EVERY);
    }
  } finally {
    await stopAllSystems(suts);
  }
  const results = suts.map((s) => s.result);
  const base = results.find((r) => r.key === 'baseline');
  for (const r of results) r.ratioToBaseline = base ? ratioToBaseline(r, base) : null;
  const setup =
    `- Setup: as in the cache-hit scenario (servers on CPU 0, dnsperf and bench/upstream.js on CPU 1, UDP over ` +
    `127.0.0.1), ${opts.names} names \`nameN.bench.test A\` pre-warmed; every pass reads a file of ${fmtInt(lines)} ` +
    `queries (one pass over it at most) in which every ${MISS_EVERY}th query is a name no earlier pass asked for ` +
    '(a miss: an upstream fetch and an insert) and the rest are hits.';
  const upstreamNote = (r) =>
    `Upstream (bench/upstream.js) queries during the measured passes: ${fmtInt(r.upstreamDuringMeasured)}, for about ` +
    `${fmtInt(misses.sent)} misses sent (${((100 * r.upstreamDuringMeasured) / Math.max(1, r.measuredSent)).toFixed(1)} % ` +
    `of the ${fmtInt(r.measuredSent)} measured queries).`;
  return renderCacheHit(results, { opts, latency, failures: [], setup, upstreamNote });
}

export default {
  name: 'mixed',
  title: 'A 95 % hit / 5 % miss mix, against a bare Node.js UDP responder',
  summary: 'throughput and latency when one query in twenty is a new name (upstream fetch and insert)',
  needs: ['dnsperf', 'build'],
  run,
};
