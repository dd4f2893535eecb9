import { num, type PhaseSummary, type Second } from './summary.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c]};`);

/**
 * The timeline chart as an SVG string: query rate and upstream rate (left axis, queries/s), answered % and stale
 * share (right axis, 0–100 %), the fault window shaded. A small writer of our own: no charting library renders
 * without a browser, and this chart needs four lines and a rectangle.
 */
export function chart(seconds: Second[], width = 900, height = 360): string {
  const pad = { l: 56, r: 56, t: 30, b: 40 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const n = Math.max(seconds.length, 2);
  const x = (i: number) => pad.l + (i / (n - 1)) * w;
  // Headroom above the busiest second, so the rate lines do not sit on the 100 % line.
  const maxRate = Math.ceil(1.25 * Math.max(1, ...seconds.map((s) => Math.max(s.sent, s.upstream ?? 0))));
  const yRate = (v: number) => pad.t + h - (v / maxRate) * h;
  const yPct = (v: number) => pad.t + h - (v / 100) * h;
  const path = (values: (number | undefined)[], y: (v: number) => number) =>
    values
      .map((v, i) =>
        v === undefined
          ? ''
          : `${i === 0 || values[i - 1] === undefined ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`,
      )
      .join('');
  const faultIdx = seconds.map((s, i) => (s.phase === 'fault' ? i : -1)).filter((i) => i >= 0);
  const shade =
    faultIdx.length === 0
      ? ''
      : `<rect x="${x(faultIdx[0]).toFixed(1)}" y="${pad.t}" width="${(x(faultIdx.at(-1)!) - x(faultIdx[0])).toFixed(1)}" height="${h}" fill="#f2dede"/>` +
        `<text x="${(x(faultIdx[0]) + 4).toFixed(1)}" y="${pad.t + 14}" fill="#a94442">fault</text>`;
  const pctOf = (s: Second, v: number) => (s.sent === 0 ? undefined : (100 * v) / s.sent);
  const series = [
    {
      name: 'queries/s',
      color: '#337ab7',
      d: path(
        seconds.map((s) => s.sent),
        yRate,
      ),
    },
    {
      name: 'upstream queries/s',
      color: '#8a6d3b',
      d: path(
        seconds.map((s) => s.upstream),
        yRate,
      ),
    },
    {
      name: 'answered %',
      color: '#3c763d',
      d: path(
        seconds.map((s) => pctOf(s, s.answered)),
        yPct,
      ),
    },
    {
      name: 'stale %',
      color: '#d9534f',
      d: path(
        seconds.map((s) => pctOf(s, s.stale)),
        yPct,
      ),
    },
  ];
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    '<title>Drill timeline</title>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    shade,
    ...ticks.map(
      (f) =>
        `<line x1="${pad.l}" x2="${pad.l + w}" y1="${pad.t + h - f * h}" y2="${pad.t + h - f * h}" stroke="#eee"/>` +
        `<text x="${pad.l - 6}" y="${pad.t + h - f * h + 4}" text-anchor="end">${Math.round(f * maxRate)}</text>` +
        `<text x="${pad.l + w + 6}" y="${pad.t + h - f * h + 4}">${f * 100}%</text>`,
    ),
    ...series.map((s) => `<path d="${s.d}" fill="none" stroke="${s.color}" stroke-width="2"/>`),
    `<text x="${pad.l + w / 2}" y="${height - 8}" text-anchor="middle">seconds</text>`,
    ...[0, 0.5, 1].map(
      (f) => `<text x="${x(f * (n - 1))}" y="${pad.t + h + 16}" text-anchor="middle">${Math.round(f * (n - 1))}</text>`,
    ),
    ...series.map(
      (s, i) =>
        `<rect x="${pad.l + i * 170}" y="8" width="12" height="12" fill="${s.color}"/><text x="${pad.l + i * 170 + 16}" y="18">${esc(s.name)}</text>`,
    ),
    '</svg>',
  ].join('\n');
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
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f5f5f5}.pass{color:#3c763d}.fail{color:#a94442;font-weight:bold}</style>
</head><body>
<h1>${esc(opts.title)}</h1>
<table>${settings}</table>
${verdict}
<table><tr><th>phase</th><th>sent</th><th>answered %</th><th>stale %</th><th>negative %</th><th>SERVFAIL %</th><th>timeouts</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>upstream q/s</th></tr>
${rows}</table>
${chart(opts.seconds)}
</body></html>
`;
}
