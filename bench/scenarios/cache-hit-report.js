// The cache-hit scenario's section of RESULTS.md and its console lines (the measuring is in cache-hit.js).
import { fmtInt, fmtMs, formatCpuShare, LOADGEN_CPU, mdTable, pct, SERVER_CPU } from '../lib/index.js';
import { toJson } from './systems.js';

/** Warn when other processes, or the hypervisor (steal), took more than this % of the server CPU during a pass ... */
const OTHER_CPU_WARN = 10;
/** ... or when the server process itself got less than this % of it. */
const SERVER_CPU_WARN = 85;

const ratio = (r) => (r.ratioToBaseline === null ? 'n/a' : `${r.ratioToBaseline.toFixed(2)}×`);

export function mainTable(results) {
  const columns = [
    ['system', 'left'],
    ['queries/s', 'right'],
    ['p50 ms', 'right'],
    ['p99 ms', 'right'],
    ['p99.9 ms', 'right'],
    ['answered later than 1 ms', 'right'],
    ['ratio to baseline (queries/s)', 'right'],
  ];
  const rows = results.map((r) => [
    r.label,
    fmtInt(r.throughput.qps),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    fmtMs(r.latency.p999),
    r.latency.over1ms === null ? '?' : `${(100 * r.latency.over1ms).toFixed(2)} %`,
    ratio(r),
  ]);
  return mdTable(columns, rows);
}

function detailTable(results) {
  const columns = [
    ['system', 'left'],
    ['median throughput pass: sent / completed / lost', 'left'],
    ['response codes', 'left'],
    ['avg latency at full load ms', 'right'],
    ['CPU during that pass', 'left'],
    ['latency pass: queries/s achieved', 'right'],
    ['latency pass: samples / lost', 'left'],
    ['latency pass: max ms', 'right'],
    ['CPU during the latency pass', 'left'],
    ['queries/s of every throughput pass', 'left'],
  ];
  const rows = results.map((r) => {
    const t = r.throughput;
    const l = r.latency;
    return [
      r.label,
      `${fmtInt(t.sent)} / ${fmtInt(t.completed)} / ${fmtInt(t.lost)}`,
      t.rcodes,
      fmtMs(t.avgLatencyMs),
      formatCpuShare(t.cpu),
      fmtInt(l.qps),
      `${fmtInt(l.samples)} / ${fmtInt(l.lostCounted)}`,
      fmtMs(l.max),
      l.cpu ? formatCpuShare(l.cpu) : '?',
      r.throughputRuns.map((x) => fmtInt(x.qps)).join(', '),
    ];
  });
  return mdTable(columns, rows);
}

/** What makes this run's figures less trustworthy. */
function warnings(results, latencyQps) {
  const out = [];
  const crowded = results.flatMap((r) =>
    r.throughputRuns
      .map((t, i) => ({ r, i, cpu: t.cpu }))
      .filter(
        (x) =>
          x.cpu.serverOther > OTHER_CPU_WARN ||
          x.cpu.serverSteal > OTHER_CPU_WARN ||
          (x.cpu.serverProcess !== null && x.cpu.serverProcess < SERVER_CPU_WARN),
      ),
  );
  if (crowded.length) {
    const where = crowded.map(
      (x) =>
        `${x.r.key} round ${x.i + 1} (server ${pct(x.cpu.serverProcess)}, steal ${pct(x.cpu.serverSteal)}, ` +
        `other ${pct(x.cpu.serverOther)})`,
    );
    out.push(
      `Warning: the server did not have CPU ${SERVER_CPU} to itself during ${where.join(', ')}; something else ` +
        'was running (another process, or another guest of the hypervisor: steal), re-run on a quiet machine.',
    );
  }
  for (const r of results) {
    if (r.latency.qps < latencyQps * 0.95) {
      out.push(
        `Note: ${r.key} could not keep up with the latency pass's ${fmtInt(latencyQps)} queries/s ` +
          `(${fmtInt(r.latency.qps)} achieved), so its p50/p99 are latencies under overload.`,
      );
    }
    const lost = r.throughputRuns.reduce((a, t) => a + t.lost, 0);
    if (lost > 0) out.push(`Note: ${r.key} lost ${fmtInt(lost)} queries over its throughput passes.`);
  }
  return out;
}

function upstreamLine(r, names) {
  return (
    `Upstream (bench/upstream.js) queries during the measured passes: **${fmtInt(r.upstreamDuringMeasured)}** ` +
    '(must be 0, or some measured queries were misses; the run fails otherwise). During the pre-warm the ' +
    `upstream answered ${fmtInt(r.upstreamAfterWarm)} queries for ${fmtInt(names)} distinct names; the measured ` +
    `passes sent ${fmtInt(r.measuredSent)} queries to ballast.`
  );
}

/**
 * The result of a UDP scenario (cache-hit, stale, mixed): its report section, summary lines, warnings, failures and
 * JSON. `setup` replaces the cache-hit setup line, and `upstreamNote(result)` the line about the upstream's queries
 * during the measured passes.
 */
export function renderCacheHit(results, { opts, latency, failures, setup, upstreamNote }) {
  const clients = opts.clients > 1 ? ` -c ${opts.clients}` : '';
  const L = [];
  L.push(
    setup ??
      `- Setup: servers pinned to CPU ${SERVER_CPU}, dnsperf and bench/upstream.js pinned to CPU ${LOADGEN_CPU} ` +
        `(\`taskset\`), UDP over 127.0.0.1; ${opts.names} names \`nameN.bench.test A\` (TTL 3600), each queried ` +
        `once before measuring (pre-warm, every answer NOERROR) plus ${Math.min(3, opts.duration)}s of unreported ` +
        'full load. ballast runs with its defaults: dnsperf is one client, and fair queuing lets a lone client use ' +
        'all upstream capacity.',
    `- Queries/s: dnsperf \`-l ${opts.duration} -q ${opts.outstanding}${clients} -Q ${opts.maxQps}\` (the -Q cap is ` +
      `only a safety bound), ${opts.rounds} pass${opts.rounds === 1 ? '' : 'es'} per system, interleaved across ` +
      'systems; the table shows the ' +
      'median pass, and the ratio is the median of the per-round ratios. Every system stays up for the whole run, ' +
      'idle while another one is measured.',
    `- Latency: a second dnsperf pass at a fixed ${fmtInt(latency.qps)} queries/s (${latency.source}) for ` +
      `${opts.duration}s, the same rate for every system; p50/p99/p99.9 over dnsperf \`-v\` per-query latencies, lost ` +
      'queries counted as slowest ("timeout"); "answered later than 1 ms" counts lost queries too (p99 ≤ 1 ms means ' +
      'at most 1 %).',
    '',
    mainTable(results),
    '',
  );
  for (const r of results.filter((x) => x.upstreamDuringMeasured !== undefined))
    L.push((upstreamNote ?? ((x) => upstreamLine(x, opts.names)))(r), '');
  for (const f of failures) L.push(`**FAILED:** ${f}`, '');
  L.push('### Details', '', detailTable(results));
  const warned = warnings(results, latency.qps);
  for (const w of warned) L.push('', w);
  L.push('', 'Commands (run from the repository root; dnsperf writes to bench/out/):', '');
  for (const r of results) {
    L.push(`- ${r.key} server: \`${r.command}\``);
    L.push(`- ${r.key} pre-warm: \`${r.fill.command}\``);
    L.push(`- ${r.key} throughput: \`${r.throughput.command}\``);
    L.push(`- ${r.key} latency: \`${r.latency.command}\``);
  }
  if (results.some((r) => r.key === 'baseline')) {
    L.push(
      '',
      'The baseline answers every query with one canned `name0.bench.test A` response, copying only the query ID ' +
        '(dnsperf matches replies by ID), so it measures Node.js UDP I/O with no DNS work at all.',
    );
  }
  const summary = ['', mainTable(results), ''];
  for (const r of results.filter((x) => x.upstreamDuringMeasured !== undefined)) {
    if (upstreamNote) {
      const note = upstreamNote(r);
      if (note) summary.push(note);
      continue;
    }
    summary.push(
      `upstream queries during the measured passes: ${r.upstreamDuringMeasured} (must be 0); ` +
        `${r.upstreamAfterWarm} during the pre-warm (${opts.names} distinct names)`,
    );
  }
  return {
    markdown: L.join('\n'),
    summary,
    warnings: warned,
    failures,
    json: { latencyQps: latency.qps, latencyQpsSource: latency.source, systems: results.map(toJson) },
  };
}
