// bench/footprint.js's report: the measured table, the per-entry cost, the targets of issue 11, and the DaemonSet's
// requests and limits derived from the measurements.
import { waysReport } from './footprint-ways.js';
import { fmtInt, leanEnv, leanFlags, mdTable, SERVER_CPU } from './lib/index.js';

const MIB = 1024 * 1024;
/** The cache bounds of deploy/base/configmap.yaml (the defaults); test/deploy checks that the ConfigMap uses these. */
export const CACHE = { maxEntries: 100_000, maxBytes: 32 * MIB };
/** Bounds of the large-cache instance: room for `entries` mix entries by count and by bytes. */
export const largeCache = (entries) => ({ maxEntries: entries, maxBytes: Math.ceil((entries * 256) / MIB) * MIB });
/** Production interval is 60 s; 30 s puts one snapshot write into every 30 s phase, so peaks include one. */
export const SNAPSHOT_INTERVAL = 30;

const fmtMi = (bytes) => (bytes / MIB).toFixed(1);
const fmtMilli = (cores) => `${Math.round(cores * 1000)}m`;
const ceilTo = (v, step) => Math.ceil(v / step) * step;

/** The cache's documented memory bound for `bounds` (DnsCache.maxHeldBytes of the built code). */
async function cacheBound(bounds) {
  const { DnsCache } = await import('../dist/cache/index.js');
  const rules = { minTtlSeconds: 0, maxTtlSeconds: 1, maxNegativeTtlSeconds: 1, staleMaxAgeSeconds: 1 };
  const cache = new DnsCache(
    { ...bounds, ...rules, refreshFrom: 0.75, refreshTo: 0.95 },
    { random: { float: Math.random } },
  );
  return cache.maxHeldBytes;
}

/**
 * Per-entry cost and requests/limits (the reasoning is printed in the report):
 * - bytes per entry: (idle RSS with N entries − idle RSS of the same instance empty) / N; beyond the message bytes:
 *   minus the mean stored message size of those N entries (bench/lib/mix.js).
 * - cpu request: cache hits at the lowest rate (a busy node's steady load), rounded up to 10m.
 * - memory request: the largest RSS sampled with the full default cache under the lowest rate, rounded up to 8 MiB.
 * - memory limit: the peak RSS (VmHWM: snapshot writes, the flood's evictions) plus what the cache can still grow
 *   to its documented bound when answers are larger than these (at the RSS per cache byte measured between the
 *   first and the last fill), times 1.25, and at least 1.5 × the peak; rounded up to 16 MiB.
 */
function derive(rows, opts, bound) {
  const ballast = rows.filter((r) => r.system === 'ballast');
  const idle = ballast.find((r) => r.phase === 'idle, empty cache');
  const filled = ballast.filter((r) => r.size !== undefined);
  // Per entry, two ways: over the same instance empty (includes what the first misses warm up: JIT code, the heap's
  // growth, sockets), and the slope between two fills of the same instance (the cost of one more entry).
  const perEntry = [];
  for (const system of [...new Set(rows.filter((r) => r.size !== undefined).map((r) => r.system))]) {
    const empty = rows.find((x) => x.system === system && x.phase === 'idle, empty cache');
    const fills = rows.filter((r) => r.system === system && r.size !== undefined).sort((x, y) => x.size - y.size);
    fills.forEach((r, i) => {
      const prev = i > 0 ? fills[i - 1] : undefined;
      // Divided by the entries the cache reports holding (a fill can lose a few queries), not the names asked.
      const overEmpty = (r.rssMean - empty.rssMean) / r.entries;
      const slope = prev ? (r.rssMean - prev.rssMean) / (r.entries - prev.entries) : undefined;
      const slopeMessage = prev
        ? (r.size * r.meanMessage - prev.size * prev.meanMessage) / (r.size - prev.size)
        : undefined;
      perEntry.push({
        row: r,
        from: prev?.size,
        overEmpty,
        beyondOverEmpty: overEmpty - r.meanMessage,
        slope,
        beyond: slope === undefined ? undefined : slope - slopeMessage,
        counted: prev ? (r.cacheBytes - prev.cacheBytes) / (r.entries - prev.entries) : r.cacheBytes / r.entries,
      });
    });
  }
  const first = filled[0];
  const last = filled[filled.length - 1];
  const atLow = ballast.find((r) => r.phase.startsWith('cache hits') && r.load === `${fmtInt(opts.rates[0])}/s`);
  const flood = ballast.find((r) => r.phase.startsWith('flood'));
  const cpuBallast = ballast.find((r) => r.phase.includes('(CPU per query)'));
  const cpuBase = rows.find((r) => r.system === 'baseline' && r.phase.includes('(CPU per query)'));
  const per100k = (r) => (r?.perf?.completed ? (r.cpuSeconds / r.perf.completed) * 100_000 : null);
  const peak = Math.max(...ballast.map((r) => r.hwm));
  const grown = last.cacheBytes - first.cacheBytes;
  const perCacheByte = grown > 0 ? Math.max(1, (last.rssMean - first.rssMean) / grown) : 1;
  // The cache's growth still possible beyond what the run reached (the flood may already have reached the bound).
  const reached = Math.max(...ballast.map((r) => Math.max(r.cacheBytes ?? 0, r.maxCacheBytes ?? 0)));
  const headroom = Math.max(0, bound - reached) * perCacheByte;
  const cpuRequest = ceilTo(atLow.cores * 1000, 10);
  const memRequest = ceilTo(atLow.rssMax / MIB, 8);
  const memLimit = ceilTo(Math.max((peak + headroom) * 1.25, peak * 1.5) / MIB, 16);
  return {
    idle,
    perEntry,
    last,
    atLow,
    flood,
    cpu: { ballast: per100k(cpuBallast), baseline: per100k(cpuBase), rate: opts.cpuRate },
    peak,
    reached,
    perCacheByte,
    headroom,
    cpuRequest,
    memRequest,
    memLimit,
  };
}

function measuredTable(rows) {
  const columns = [
    ['system', 'left'],
    ['phase', 'left'],
    ['load (queries/s)', 'right'],
    ['achieved / lost', 'right'],
    ['upstream queries', 'right'],
    ['cache entries', 'right'],
    ['ballast_cache_bytes (MiB)', 'right'],
    ['RSS mean (MiB)', 'right'],
    ['RSS max (MiB)', 'right'],
    ['peak RSS so far (MiB)', 'right'],
    ['at the end: anonymous / file-backed (MiB)', 'right'],
    ['JS heap used (MiB)', 'right'],
    ['CPU', 'right'],
  ];
  const opt = (v, f) => (v === undefined || Number.isNaN(v) ? '—' : f(v));
  return mdTable(
    columns,
    rows.map((r) => [
      r.system === 'baseline' ? 'baseline (bench/responder.js)' : r.system,
      r.phase,
      r.load,
      r.perf ? `${fmtInt(r.perf.qps)} / ${fmtInt(r.perf.lost)}` : '—',
      opt(r.upstream, fmtInt),
      opt(r.entries, fmtInt),
      opt(r.cacheBytes, fmtMi),
      fmtMi(r.rssMean),
      fmtMi(r.rssMax),
      fmtMi(r.hwm),
      r.anon === undefined ? '—' : `${fmtMi(r.anon)} / ${fmtMi(r.file)}`,
      opt(r.heapUsed, fmtMi),
      fmtMilli(r.cores),
    ]),
  );
}

const verdict = (ok) => (ok ? 'met' : '**not met**');

export async function report(result, opts, ctx) {
  const { rows, upstreamCount } = result;
  const bound = await cacheBound(CACHE);
  const d = derive(rows, opts, bound);
  const inPhases = rows.reduce((a, r) => a + (r.upstream ?? 0), 0);
  const base = rows.find((r) => r.system === 'baseline' && r.phase === 'idle');
  const at100k = d.perEntry.find((p) => p.row.system === 'ballast' && p.row.size === CACHE.maxEntries);
  const L = [];
  L.push('# Footprint: memory and CPU', '');
  L.push('Generated by `bench/footprint.js`; do not edit by hand, re-run instead. The DaemonSet in');
  L.push(
    '`deploy/base/daemonset.yaml` takes its resources from the last table, and `test/deploy` checks that they match.',
  );
  L.push('');
  L.push(`- Date: ${ctx.date.toISOString()}`);
  L.push(`- Command: \`${ctx.command}\``);
  L.push(
    `- Machine: ${ctx.nproc} CPUs, ${ctx.model}, ${ctx.kernel}; Node.js ${ctx.nodeVersion}; dnsperf ${ctx.dnsperf}`,
  );
  L.push(
    `- Machine load just before and after the run: ${ctx.busy}% and ${ctx.busyAfter}% of all CPUs busy (2 s samples)`,
  );
  L.push(
    `- ballast: \`${result.ballastCommand}\` (pinned to CPU ${SERVER_CPU}); the launcher runs it with V8 flags \`${leanFlags().join(' ')}\` and \`${leanEnv().join(' ')}\` (bin/lean.js)`,
  );
  L.push(
    `- Config: \`cache.maxEntries: ${CACHE.maxEntries}\`, \`cache.maxBytes: ${CACHE.maxBytes}\` (as in ` +
      `deploy/base/configmap.yaml) (all load comes from one address here: fair queuing lets a lone client use all capacity), ` +
      `snapshots every ${SNAPSHOT_INTERVAL} s (production: 60 s), so each ${opts.duration} s phase includes a ` +
      'snapshot write.' +
      (result.large
        ? ` The large-cache instance: \`cache.maxEntries: ${result.large.maxEntries}\`, \`cache.maxBytes: ${result.large.maxBytes}\`.`
        : ''),
  );
  L.push(
    '- Entries: the realistic mix of bench/lib/mix.js (60 % A, 20 % AAAA, 15 % SRV with an additional A, 4 % four ' +
      'A records, 1 % a 1 KB TXT) for `nameN.ns-K.svc.bench.test`, answered by bench/upstream.js with TTL 3600. ' +
      'Fills run at ' +
      '10,000 queries/s; idle rows are 5 s of sampling after a fill. Load: dnsperf over UDP on 127.0.0.1, pinned to ' +
      `CPU 1 with bench/upstream.js, fixed rates with \`-Q\`, ${opts.duration} s per phase.`,
  );
  L.push(
    '- Sampling: VmRSS from `/proc/PID/status` every 250 ms (mean and max); VmHWM (peak RSS since start); at the ' +
      "end of each phase, RssAnon and RssFile, VmRSS's two parts: memory the process holds, and the node executable's " +
      'pages it has touched (clean, shared by every container of the image on a node, dropped first under pressure); ' +
      'CPU from ' +
      '`/proc/PID/stat` utime + stime over the phase, all threads, in millicores (1000m = one core busy); ' +
      '`ballast_cache_bytes` at the end of each phase, and every second during the flood (a scrape costs CPU: ' +
      'the other phases are scraped once, as Prometheus would every 15–30 s).',
  );
  L.push(
    '- Baseline: `bench/responder.js` (one canned answer, no cache, Node.js with no flags), started after ballast ' +
      'stopped, same CPU, same rates.',
  );
  L.push('', measuredTable(rows), '');
  L.push(
    `Upstream (bench/upstream.js) answered ${fmtInt(upstreamCount)} queries in all: ${fmtInt(inPhases)} during ` +
      `the phases above and ${fmtInt(upstreamCount - inPhases)} during the fills between them.`,
  );
  L.push('', '## Per entry', '');
  L.push(
    'Two ways: over the same instance when empty (this includes what the first misses warm up once: optimised code, ' +
      'the JS heap, upstream sockets), and the slope between two fills of the same instance, which is what one more ' +
      'entry costs. "Beyond the message" subtracts the mean stored message size of those entries (bench/lib/mix.js).',
    '',
  );
  const opt = (v) => (v === undefined ? '—' : fmtInt(v));
  L.push(
    mdTable(
      [
        ['system', 'left'],
        ['entries', 'right'],
        ['RSS over empty, per entry (B)', 'right'],
        ['… beyond the message (B)', 'right'],
        ['slope from', 'right'],
        ['RSS slope per entry (B)', 'right'],
        ['… beyond the message (B)', 'right'],
        ['ballast_cache_bytes per entry (B)', 'right'],
      ],
      d.perEntry.map((p) => [
        p.row.system,
        fmtInt(p.row.entries),
        fmtInt(p.overEmpty),
        fmtInt(p.beyondOverEmpty),
        opt(p.from),
        opt(p.slope),
        opt(p.beyond),
        fmtInt(p.counted),
      ]),
    ),
  );
  const ways = waysReport(result.ways ?? []);
  L.push(...ways.lines);
  L.push('', '## Targets (issue 11)', '');
  const cpuRatio = d.cpu.ballast && d.cpu.baseline ? d.cpu.ballast / d.cpu.baseline : null;
  const targetRows = [
    [
      'RSS idle',
      `${fmtMi(d.idle.rssMean)} MiB (bare responder: ${fmtMi(base.rssMean)} MiB)`,
      '≤ 56 MiB',
      verdict(d.idle.rssMean <= 56 * MIB),
    ],
    [
      'RSS with 100,000 entries',
      at100k ? `${fmtMi(at100k.row.rssMean)} MiB` : 'n/a',
      '≤ 96 MiB',
      verdict(at100k && at100k.row.rssMean <= 96 * MIB),
    ],
    ...d.perEntry
      .filter((p) => p.slope !== undefined)
      .map((p) => [
        `bytes per entry beyond the message, ${p.row.system}, ${fmtInt(p.from)} → ${fmtInt(p.row.size)} entries`,
        `${fmtInt(p.beyond)} B (over the empty instance: ${fmtInt(p.beyondOverEmpty)} B)`,
        '≤ 300 B',
        verdict(p.beyond <= 300),
      ]),
    [
      `CPU per 100,000 queries at ${fmtInt(d.cpu.rate)}/s (cache hits)`,
      cpuRatio === null
        ? 'n/a'
        : `${d.cpu.ballast.toFixed(2)} s vs ${d.cpu.baseline.toFixed(2)} s, ${cpuRatio.toFixed(2)}×`,
      '≤ 1.3× the responder',
      cpuRatio === null ? 'n/a' : verdict(cpuRatio <= 1.3),
    ],
    [
      'ballast_cache_bytes under the flood',
      `max ${fmtMi(d.flood.maxCacheBytes)} MiB; documented bound ${fmtMi(bound)} MiB`,
      '≤ the bound',
      verdict(d.flood.maxCacheBytes <= bound),
    ],
    ...ways.targets,
    ['DaemonSet memory request', `${d.memRequest}Mi`, '≤ 96Mi', verdict(d.memRequest <= 96)],
    ['DaemonSet memory limit', `${d.memLimit}Mi`, '≤ 192Mi', verdict(d.memLimit <= 192)],
  ];
  L.push(
    mdTable(
      [
        ['what', 'left'],
        ['measured', 'left'],
        ['target', 'left'],
        ['', 'left'],
      ],
      targetRows,
    ),
  );
  L.push('');
  L.push(
    'The CPU figure comes from a shared machine unless the load lines above say it was quiet; throughput and latency ' +
      'targets are in bench/RESULTS.md (`npm run bench`).',
  );
  L.push('', '## Derived requests and limits', '');
  L.push(
    `- **CPU request** = ${fmtMilli(d.atLow.cores)} (cache hits at ${d.atLow.load} over ${fmtInt(d.last.size)} ` +
      `entries: a busy node's steady load), rounded up to 10m = **${d.cpuRequest}m**. A request is the node's ` +
      'share under contention, not a cap: busier nodes and bursts use more. Scale it with your nodes’ query rate ' +
      '(ballast_requests_total).',
  );
  L.push(
    '- **CPU limit: none.** CFS throttling of a DNS server turns a burst into client timeouts and retries, the ' +
      'load multiplication ballast exists to prevent. CoreDNS’s own manifest sets no CPU limit either. The flood ' +
      `phase shows the most expensive steady load (${fmtMilli(d.flood.cores)} at ${d.flood.load}).`,
  );
  L.push(
    `- **Memory request** = the largest RSS sampled with ${fmtInt(d.last.size)} entries at ${d.atLow.load}, ` +
      `${fmtMi(d.atLow.rssMax)} MiB, rounded up to 8 MiB = **${d.memRequest}Mi**. The limit below carries the headroom.`,
  );
  L.push(
    `- **Memory limit**: the peak RSS of the run was ${fmtMi(d.peak)} MiB (VmHWM: it includes snapshot writes and ` +
      `the flood of ${d.flood.phase.split(': ')[1]}). The cache held at most ${fmtMi(d.reached)} MiB ` +
      `(\`ballast_cache_bytes\`) during the run; with larger answers it can grow to its documented bound, ` +
      `${fmtMi(bound)} MiB (docs/configuration.md: cache.maxBytes of slabs, plus the per-slot columns and the ` +
      'index), at the RSS per cache byte measured between the fills ' +
      `(${d.perCacheByte.toFixed(2)}): ${fmtMi(d.headroom)} MiB more. Limit = max((peak + that) × 1.25, peak × 1.5), ` +
      `rounded up to 16 MiB = **${d.memLimit}Mi**. An OOM kill is the one thing a node cache must not suffer ` +
      '(kubernetes/dns#438); raise the limit together with `cache.maxBytes`.',
  );
  L.push('');
  L.push(
    mdTable(
      [
        ['resource', 'left'],
        ['value', 'left'],
      ],
      [
        ['`requests.cpu`', `\`${d.cpuRequest}m\``],
        ['`requests.memory`', `\`${d.memRequest}Mi\``],
        ['`limits.cpu`', '— (none)'],
        ['`limits.memory`', `\`${d.memLimit}Mi\``],
      ],
    ),
  );
  L.push('');
  L.push('Commands (from the repository root):', '');
  for (const r of rows.filter((x) => x.perf)) L.push(`- ${r.system} ${r.phase} ${r.load}: \`${r.perf.command}\``);
  L.push('');
  return { text: L.join('\n'), derived: d };
}
