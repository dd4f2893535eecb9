// The fleet report: per scenario, a summary table (markdown and HTML) and charts over time, one line per policy
// (docs/fleet.md, "Reading the report"). Query rates are scaled to the whole fleet; shares are as measured.

import { type Column, mdTable } from '../util/markdown.js';
import { buckets, COLORS, type Line, lineChart, STYLES } from './charts.js';
import { POLICIES, type PolicyName } from './model.js';
import type { FleetRun } from './run.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';

/** What a report says about how it was made. */
export interface ReportMeta {
  command: string;
  wallSeconds: number;
  workers: number;
  seed: number;
  sample: string;
}

/** Every run of each scenario, in the order they are reported. */
export type Results = Map<ScenarioName, FleetRun[]>;

const BUCKET_S = 10;
const pct = (v: number, digits = 2) => `${v.toFixed(digits)} %`;
const qps = (v: number) => Math.round(v).toLocaleString('en-US');
const seconds = (v: number | undefined) => (v === undefined ? 'not within the run' : `${v} s`);

/** The summary table's rows for one scenario's runs. */
function rows(runs: FleetRun[]): string[][] {
  return runs.map((r) => {
    const s = r.summary;
    const ratio = s.steadyPeakQps > 0 ? s.recoveryPeakQps / s.steadyPeakQps : 0;
    return [
      r.label,
      pct(s.failedPct),
      `${qps(s.seenFailed)} (${pct(s.seenFailedPct)})`,
      pct(s.stalePct),
      `${qps(s.steadyQps)} / ${qps(s.steadyPeakQps)}`,
      qps(s.faultPeakQps),
      `${qps(s.recoveryPeakQps)} (${ratio.toFixed(2)}×)`,
      `${qps(s.refused + s.servfail)} (${qps(s.probeErrors)})`,
      qps(s.probeMeanQps),
      seconds(s.recoverySeconds),
    ];
  });
}

const COLUMNS: Column[] = [
  ['policy', 'left'],
  ['lookups failed', 'right'],
  ['failed, names seen before', 'right'],
  ['answered stale', 'right'],
  ['CoreDNS q/s steady: mean / busiest s', 'right'],
  ['CoreDNS peak q/s, fault', 'right'],
  ['CoreDNS peak q/s, recovery (× steady busiest)', 'right'],
  ['REFUSED + SERVFAIL from CoreDNS (to health checks)', 'right'],
  ['health checks at CoreDNS, q/s during fault', 'right'],
  ['time to full recovery', 'right'],
];

/** The December 2024 verdict: NodeLocal next to ballast, against the two targets, with the miss when there is one. */
export function verdict(runs: FleetRun[]): string[] {
  const nl = runs.find((r) => r.policy === 'nodelocal')?.summary;
  const b = runs.find((r) => r.policy === 'ballast')?.summary;
  if (nl === undefined || b === undefined) return [];
  const lines = [
    `NodeLocal DNSCache: ${pct(nl.failedPct)} of lookups failed from the outage on (${qps(nl.seenFailed)} of them for ` +
      `names seen before it); CoreDNS peak ${qps(nl.faultPeakQps)} q/s during the outage and ` +
      `${qps(nl.recoveryPeakQps)} q/s in the 2 minutes after it, against a steady ${qps(nl.steadyQps)} q/s ` +
      `(busiest second ${qps(nl.steadyPeakQps)}).`,
  ];
  lines.push(
    b.seenFailed === 0
      ? `ballast: 0 failed lookups for names seen before the outage (target met); ${pct(b.failedPct)} of all ` +
          'lookups failed, every one for a name the node had not asked before the outage.'
      : `ballast: ${qps(b.seenFailed)} failed lookups for names seen before the outage (${pct(b.seenFailedPct)}): the ` +
          `target of 0 is missed by ${qps(b.seenFailed)}.`,
  );
  const over = b.recoveryPeakQps - b.steadyPeakQps;
  const recovery =
    `ballast: CoreDNS peak ${qps(b.recoveryPeakQps)} q/s in the 2 minutes from the API server's return, against a ` +
    `busiest second of ${qps(b.steadyPeakQps)} q/s in the 2 minutes before the outage`;
  lines.push(
    over <= 0
      ? `${recovery} (target met).`
      : `${recovery}: above it by ${qps(over)} q/s (${pct((100 * over) / b.steadyPeakQps, 1)}), so the target is ` +
          'missed by that much.',
  );
  lines.push(
    `ballast: after those 2 minutes, CoreDNS gets ${qps(b.afterMeanQps)} q/s on average, against ` +
      `${qps(b.steadyQps)} q/s before the outage; during the outage, ${qps(b.faultPeakQps)} q/s at most (30 minutes, ` +
      'the first 10 with CoreDNS still answering from its frozen informer, so normal traffic and its noise).',
  );
  lines.push(
    `Health checks at CoreDNS (part of the load above), from the outage to 2 minutes after it: ballast's probes ` +
      `(the zone's SOA, about one per second per node while the zone is down) ${qps(b.probeMeanQps)} q/s on average ` +
      `during the outage, ${qps(b.probePeakQps)} q/s in the busiest second, ${qps(b.probeErrors)} of them answered ` +
      `SERVFAIL or REFUSED; NodeLocal DNSCache's (". NS" every 0.5 s after an error) ${qps(nl.probeMeanQps)} and ` +
      `${qps(nl.probePeakQps)} q/s.`,
  );
  return lines;
}

/** The charts of one scenario, as SVG strings. */
export function charts(_scenario: ScenarioName, runs: FleetRun[], { policies }: { policies?: PolicyName[] } = {}) {
  const shown = policies ? runs.filter((r) => policies.includes(r.policy)) : runs;
  const { faultStart, faultEnd } = runs[0].times;
  const shade: [number, number] = [faultStart, faultEnd];
  const line = (r: FleetRun, values: number[]): Line => ({ label: r.label, style: STYLES[r.policy], values });
  const common = { bucketS: BUCKET_S, shade };
  return {
    failed: lineChart({
      ...common,
      title: 'Pod lookups failed',
      yLabel: '% of lookups',
      percent: true,
      lines: shown.map((r) => line(r, buckets(r.series.failed, BUCKET_S, { den: r.series.lookups, share: true }))),
    }),
    stale: lineChart({
      ...common,
      title: 'Lookups answered stale',
      yLabel: '% of lookups',
      percent: true,
      fixedMax: 100,
      lines: shown.map((r) => line(r, buckets(r.series.stale, BUCKET_S, { den: r.series.lookups, share: true }))),
    }),
    load: lineChart({
      ...common,
      title: 'Queries offered to CoreDNS, whole fleet',
      yLabel: 'queries/s',
      log: true,
      lines: shown.map((r) => line(r, buckets(r.series.offered, BUCKET_S, { scale: r.scale }))),
      reference: {
        label: 'CoreDNS capacity',
        values: buckets(runs[0].series.capacity, BUCKET_S, { scale: runs[0].scale }),
      },
    }),
    errors: lineChart({
      ...common,
      title: 'REFUSED + SERVFAIL from CoreDNS, whole fleet',
      yLabel: 'answers/s',
      log: true,
      lines: shown.map((r) => {
        const bad = r.series.refused.map((v, i) => v + r.series.servfail[i]);
        return line(r, buckets(bad, BUCKET_S, { scale: r.scale }));
      }),
    }),
  };
}

/** The figure the README shows: December 2024, NodeLocal DNSCache against ballast, failures above and load below. */
export function readmeSvg(runs: FleetRun[]): string {
  const c = charts('dec-2024', runs, { policies: ['nodelocal', 'ballast'] });
  const inner = (svg: string, y: number) => svg.replace('<svg ', `<svg y="${y}" `);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="670" viewBox="0 0 720 670" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="20" font-size="15" font-weight="bold">${SCENARIOS['dec-2024'].title}; a fleet of 5,000 nodes</text>
${inner(c.failed, 30)}
${inner(c.load, 350)}
</svg>
`;
}

/** The markdown summary: the run's facts, then per scenario its table (and December 2024's verdict). */
export function markdown(results: Results, meta: ReportMeta): string {
  const out = [
    '# Fleet simulation',
    '',
    `Produced by \`${meta.command}\` in ${meta.wallSeconds} s (wall clock, ${meta.workers} worker threads). ` +
      `Model and how to read this: [docs/fleet.md](../../docs/fleet.md). Charts: [fleet.html](fleet.html).`,
    '',
    `${meta.sample} Seed ${meta.seed}.`,
    '',
  ];
  for (const [name, runs] of results) {
    const sc = SCENARIOS[name];
    out.push(`## ${sc.title}`, '', sc.summary, '', mdTable(COLUMNS, rows(runs)), '');
    if (name === 'dec-2024') out.push(...verdict(runs).map((l) => `- ${l}`), '');
  }
  return `${out.join('\n')}\n`;
}

/** The HTML report: the same tables, the verdict, and four charts per scenario. */
export function html(results: Results, meta: ReportMeta): string {
  const table = (runs: FleetRun[]) =>
    `<table><tr>${COLUMNS.map(([h]) => `<th>${h}</th>`).join('')}</tr>${rows(runs)
      .map((r) => `<tr>${r.map((c, i) => `<td class="${i ? 'n' : ''}">${c}</td>`).join('')}</tr>`)
      .join('')}</table>`;
  const sections = [...results].map(([name, runs]) => {
    const sc = SCENARIOS[name];
    const c = charts(name, runs);
    const v =
      name === 'dec-2024'
        ? `<ul>${verdict(runs)
            .map((l) => `<li>${l}</li>`)
            .join('')}</ul>`
        : '';
    return `<section><h2>${sc.title}</h2><p>${sc.summary} The shaded band is the fault.</p>${table(runs)}${v}
<div class="charts">${c.failed}${c.stale}${c.load}${c.errors}</div></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ballast fleet simulation</title>
<style>body{font-family:sans-serif;max-width:1480px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}
th{background:#f4f4f4}td.n{text-align:right}section{margin-bottom:2em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px}.charts svg{width:100%;height:auto}</style>
</head><body><h1>ballast fleet simulation</h1>
<p>Produced by <code>${meta.command}</code> in ${meta.wallSeconds} s. ${meta.sample} Seed ${meta.seed}. The model, its
parameters and their sources, and how to read this page: docs/fleet.md in the repository.</p>
<p>Policies: ${Object.entries(POLICIES)
    .map(([k, p]) => `<span style="color:${COLORS[k as PolicyName]}">■</span> ${p.label}`)
    .join(' · ')}.</p>
${sections.join('\n')}
</body></html>
`;
}
