import { esc, panel, type Series, svg } from '../util/chart.js';
import type { DrillOptions } from './options.js';
import { num, type PhaseSummary, type Second } from './summary.js';

/** The fault of a drill in words, for the report's settings: "blackhole: … swallowed, for 60 s". */
export function faultText(opts: Pick<DrillOptions, 'fault' | 'faultSeconds' | 'external'>): string {
  const s = opts.faultSeconds;
  if (opts.external) return `external (the operator or Chaos Mesh breaks the upstream), for ${s} s`;
  const f = opts.fault;
  const who = f.zone ? `the ${f.zone} upstream` : f.upstream ? `upstream ${f.upstream}` : 'every upstream';
  const what: Record<string, string> = {
    blackhole: `every query to ${who} swallowed`,
    servfail: `${who} answers SERVFAIL`,
    refused: `${who} answers REFUSED`,
    delay: `${who} answers ${f.delayMs} ms late`,
    drop: `${f.percent} % of the queries to ${who} swallowed`,
    lame: `${f.percent} % of names never answered by ${who}`,
    slow: `${who} answers ${f.delayMs}–${(f.delayMs ?? 0) + (f.spreadMs ?? 0)} ms late`,
    loss: `${f.percent} % of datagrams to and from ${who} lost`,
    overload: `${who} answers REFUSED above ${f.concurrency} queries in flight`,
    nxdomain: `${who} answers NXDOMAIN for every name`,
    nodata: `${who} answers NODATA for every name`,
    mixed: `${f.percent} % of the answers from ${who} NXDOMAIN`,
  };
  return `${f.kind}: ${what[f.kind] ?? who}, for ${s} s`;
}

/**
 * The timeline as an SVG string, two panels over the same seconds, the fault window shaded in both: what share of the
 * queries was answered and answered stale, and how many queries went to the target and from it upstream. In a good
 * run the lines of each panel lie on each other for a while (every answer stale; every query a miss), so the first
 * of each pair is drawn wide and pale and the second dashed over it, each named at its end.
 */
export function chart(seconds: Second[], width = 1000, height = 640): string {
  const pctOf = (s: Second, v: number) => (s.sent === 0 ? undefined : (100 * v) / s.sent);
  const faultIdx = seconds.flatMap((s, i) => (s.phase === 'fault' ? [i] : []));
  const shade =
    faultIdx.length === 0 ? undefined : { from: faultIdx[0], to: faultIdx.at(-1)! + 1, label: 'fault window' };
  const answers: Series[] = [
    {
      label: 'answered %',
      color: '#7cc47c',
      width: 7,
      dash: '',
      marker: 'none',
      values: seconds.map((s) => pctOf(s, s.answered)),
    },
    {
      label: 'stale %',
      color: '#c9302c',
      width: 2,
      dash: '7,4',
      marker: 'triangle',
      values: seconds.map((s) => pctOf(s, s.stale)),
    },
  ];
  const rates: Series[] = [
    {
      label: 'queries/s',
      color: '#8db8e3',
      width: 7,
      dash: '',
      marker: 'none',
      values: seconds.map((s) => s.sent),
    },
    {
      label: 'upstream q/s',
      color: '#8a4f0b',
      width: 2,
      dash: '7,4',
      marker: 'square',
      values: seconds.map((s) => s.upstream),
    },
  ];
  const half = height / 2;
  const common = { step: 1, x: { label: 'seconds since the drill started' }, shade, endLabels: true };
  return svg('Drill timeline', width, height, [
    panel({
      ...common,
      box: { x: 0, y: 0, width, height: half },
      title: 'Answers, as a share of the queries sent each second',
      series: answers,
      y: { label: '% of queries', percent: true, max: 100 },
    }),
    panel({
      ...common,
      box: { x: 0, y: half, width, height: half },
      title: 'Query rates: to the target, and from it to its upstreams',
      series: rates,
      y: { label: 'queries/s' },
    }),
  ]);
}

/** A self-contained HTML report: the settings, the table, the SLO verdict and the chart. */
export function html(opts: {
  title: string;
  settings: Record<string, string>;
  summaries: PhaseSummary[];
  seconds: Second[];
  slo: string[];
}): string {
  const rows = opts.summaries
    .map(
      (s) =>
        `<tr><td>${s.phase}</td><td>${s.sent}</td><td>${num(s.answeredPct, 2)}</td><td>${num(s.stalePct)}</td><td>${num(s.negativePct, 2)}</td><td>${num(s.servfailPct, 2)}</td>` +
        `<td>${s.timeouts}</td><td>${num(s.p50Ms, 2)}</td><td>${num(s.p95Ms, 2)}</td><td>${num(s.p99Ms, 2)}</td><td>${num(s.upstreamPerSecond)}</td></tr>`,
    )
    .join('\n');
  const settings = Object.entries(opts.settings)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('');
  const verdict =
    opts.slo.length === 0
      ? '<p class="pass">All SLO gates passed.</p>'
      : `<p class="fail">SLO missed: ${opts.slo.map(esc).join('; ')}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f5f5f5}.settings td{text-align:left}.pass{color:#3c763d}.fail{color:#a94442;font-weight:bold}svg{width:100%;height:auto}</style>
</head><body>
<h1>${esc(opts.title)}</h1>
<table class="settings">${settings}</table>
${verdict}
<table><tr><th>phase</th><th>sent</th><th>answered %</th><th>stale %</th><th>negative %</th><th>SERVFAIL %</th><th>timeouts</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>upstream q/s</th></tr>
${rows}</table>
${chart(opts.seconds)}
</body></html>
`;
}
