// SVG line charts over time for the fleet report: one line per policy, the fault's window shaded, an optional
// dashed reference line (CoreDNS's capacity). Self-contained markup, no scripts, so the HTML report and the SVG the
// README shows render anywhere.

import type { PolicyName } from './model.js';

export const COLORS: Record<PolicyName, string> = {
  nodelocal: '#d9534f',
  ballast: '#2b6cb0',
  'no-jitter': '#dd8a00',
  'no-coalescing': '#7b4fb3',
  'no-stale': '#3a9d5d',
  'no-snapshot': '#8c8c8c',
  'no-lkg': '#0f9d9a',
};

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Values per bucket of `bucketS` seconds: the sum of `num` over the sum of `den` (× 100 for a share), or a rate. */
export function buckets(
  num: ArrayLike<number>,
  bucketS: number,
  { den, share = false, scale = 1 }: { den?: ArrayLike<number>; share?: boolean; scale?: number } = {},
): number[] {
  const out: number[] = [];
  for (let i = 0; i < num.length; i += bucketS) {
    let a = 0;
    let b = 0;
    const to = Math.min(num.length, i + bucketS);
    for (let j = i; j < to; j++) {
      a += num[j];
      b += den ? den[j] : 1;
    }
    out.push(share ? (b === 0 ? 0 : (100 * a) / b) : (a / (to - i)) * scale);
  }
  return out;
}

/** A "nice" upper bound for an axis: 1, 2 or 5 × a power of ten, at least `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p;
}

const fmtAxis = (v: number) => {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
};

/**
 * A line chart. `lines`: [{ label, color, values }] (one value per bucket of `bucketS` seconds); `shade`: [from, to]
 * in seconds; `reference`: { label, values } drawn dashed; `unit` after the y values; `fixedMax` for shares; `log`
 * for a logarithmic y axis (query rates that span a probe a second to CoreDNS's capacity).
 */
/** One line of a chart. */
export interface Line {
  label: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  lines: Line[];
  bucketS: number;
  shade?: [number, number];
  reference?: { label: string; values: number[] };
  unit?: string;
  fixedMax?: number;
  log?: boolean;
  width?: number;
  height?: number;
}

export function lineChart({
  title,
  lines,
  bucketS,
  shade,
  reference,
  unit = '',
  fixedMax,
  log = false,
  width = 720,
  height = 240,
}: LineChartOptions): string {
  const items: Line[] = [...lines, ...(reference ? [{ ...reference, color: '#444', dashed: true }] : [])];
  // The legend sits between the title and the plot, three entries a row.
  const pad = { l: 52, r: 12, t: 26 + Math.ceil(items.length / 3) * 14, b: 34 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const n = Math.max(...lines.map((l) => l.values.length));
  const all = [...lines.flatMap((l) => l.values), ...(reference?.values ?? [])];
  const top = Math.max(...all);
  // A log axis of nothing at all (no REFUSED in a scenario) spans 1 to 100k rather than fractions of a query.
  const logTop = top === 0 ? 1e5 : 10 ** Math.ceil(Math.log10(Math.max(top, 10)));
  const yMax = log ? logTop : (fixedMax ?? niceMax(top * 1.05));
  // A log axis spans five decades below its top; anything lower sits on the floor.
  const yMin = log ? yMax / 1e5 : 0;
  const frac = (v: number) =>
    log ? Math.log10(Math.max(v, yMin) / yMin) / Math.log10(yMax / yMin) : Math.min(v, yMax) / yMax;
  const x = (i: number) => pad.l + (w * i * bucketS) / (n * bucketS);
  const y = (v: number) => pad.t + h - h * Math.min(1, frac(v));
  const path = (values: number[]) =>
    values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const minutes = (n * bucketS) / 60;
  const step = minutes > 30 ? 10 : minutes > 10 ? 5 : 1;
  const xTicks: string[] = [];
  for (let m = 0; m <= minutes; m += step) {
    const px = pad.l + (w * m * 60) / (n * bucketS);
    xTicks.push(
      `<line x1="${px.toFixed(1)}" y1="${pad.t + h}" x2="${px.toFixed(1)}" y2="${pad.t + h + 4}" stroke="#444"/>` +
        `<text x="${px.toFixed(1)}" y="${pad.t + h + 16}" text-anchor="middle">${m}</text>`,
    );
  }
  const tickValues = log ? [0, 1, 2, 3, 4, 5].map((d) => yMin * 10 ** d) : [0, 0.25, 0.5, 0.75, 1].map((f) => yMax * f);
  const yTicks = tickValues.map((v) => {
    const py = y(v);
    const label = log && v === yMin ? `≤${fmtAxis(v)}` : fmtAxis(v);
    return (
      `<line x1="${pad.l}" y1="${py.toFixed(1)}" x2="${pad.l + w}" y2="${py.toFixed(1)}" stroke="#e6e6e6"/>` +
      `<text x="${pad.l - 6}" y="${(py + 4).toFixed(1)}" text-anchor="end">${label}${unit}</text>`
    );
  });
  const shadeRect = shade
    ? `<rect x="${(pad.l + (w * shade[0]) / (n * bucketS)).toFixed(1)}" y="${pad.t}" width="${((w * (shade[1] - shade[0])) / (n * bucketS)).toFixed(1)}" height="${h}" fill="#f3e7c9"/>`
    : '';
  const legend = items
    .map((l, i) => {
      const lx = pad.l + (i % 3) * 220;
      const ly = 34 + Math.floor(i / 3) * 14;
      const dash = l.dashed ? ' stroke-dasharray="5,4"' : '';
      return `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 16}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2"${dash}/><text x="${lx + 20}" y="${ly}">${esc(l.label)}</text>`;
    })
    .join('');
  const drawn = lines
    .map((l) => `<path d="${path(l.values)}" fill="none" stroke="${l.color}" stroke-width="1.6"/>`)
    .join('');
  const ref = reference
    ? `<path d="${path(reference.values)}" fill="none" stroke="#444" stroke-width="1.2" stroke-dasharray="5,4"/>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>${shadeRect}
<text x="${pad.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>
${yTicks.join('')}${xTicks.join('')}
<line x1="${pad.l}" y1="${pad.t + h}" x2="${pad.l + w}" y2="${pad.t + h}" stroke="#444"/>
<text x="${pad.l + w}" y="${height - 4}" text-anchor="end">minutes</text>
${ref}${drawn}${legend}
</svg>`;
}
