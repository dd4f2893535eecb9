// Line charts as SVG, shared by the drill report (src/drill/html.ts) and the fleet report (src/fleet/charts.ts).
// The rules every chart follows: axis ticks are round numbers (1, 2, 2.5 or 5 × 10^k apart), every axis is labelled
// with its unit, a log axis never spans zero (all-zero data gets a linear axis and a note; zeros among positive values
// sit on a stated floor, "≤10"), and series are told apart by colour, dash, width and marker, so that two lines lying
// on each other still show both: the wider one underneath, the dashed one over it.
// Markup only, no scripts: it renders in a browser, in GitHub's image view and in a headless screenshot alike.

export type Marker = 'none' | 'circle' | 'square' | 'triangle' | 'diamond' | 'cross' | 'bar';

/** How a series is drawn. `dash` is an SVG stroke-dasharray ('' for solid). */
export interface Style {
  color: string;
  dash: string;
  width: number;
  marker: Marker;
}

export interface Series extends Style {
  label: string;
  /** One value per point; undefined leaves a gap. */
  values: readonly (number | undefined)[];
}

export interface Panel {
  box: { x: number; y: number; width: number; height: number };
  title: string;
  series: Series[];
  /** x units (seconds) per point; point i stands for [i × step, (i + 1) × step) and is drawn at its middle. */
  step: number;
  /** The x axis: its label (with the unit) and the x units per label unit (60 for seconds shown as minutes). */
  x: { label: string; per?: number };
  /** The y axis: its label with the unit, '%' after each tick for shares, a fixed top, a log scale. */
  y: { label: string; percent?: boolean; max?: number; log?: boolean };
  /** A shaded window in x units, e.g. the fault. */
  shade?: { from: number; to: number; label: string };
  /** Each series' name at the right end of its line (needs room: the panel keeps 120 px for them). */
  endLabels?: boolean;
}

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c]};`);

/** Removes binary fractions' noise: 0.30000000000000004 → 0.3. */
const clean = (v: number) => Number(v.toPrecision(12));

/** The smallest round step (1, 2, 2.5 or 5 × 10^k) at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return clean(([1, 2, 2.5, 5, 10].find((m) => m * p >= raw * (1 - 1e-9)) ?? 10) * p);
}

/** Round ticks from 0 to at least `max`, about `count` intervals. */
export function niceTicks(max: number, count = 5): number[] {
  const top = max > 0 ? max : 1;
  const step = niceStep(top / count);
  const n = Math.ceil(clean(top / step));
  return Array.from({ length: n + 1 }, (_, i) => clean(i * step));
}

/** A tick label: 2.5k, 100k, 1M, 0.25. */
export function fmtTick(v: number): string {
  if (Math.abs(v) >= 1e6) return `${clean(v / 1e6)}M`;
  if (Math.abs(v) >= 1e3) return `${clean(v / 1e3)}k`;
  return `${clean(v)}`;
}

interface YScale {
  frac: (v: number) => number;
  ticks: { v: number; label: string }[];
  note?: string;
}

function yScale(p: Panel): YScale {
  const values = p.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const top = Math.max(0, ...values);
  const unit = p.y.percent ? '%' : '';
  if (p.y.log) {
    const positive = values.filter((v) => v > 0);
    if (positive.length > 0) {
      const hi = 10 ** Math.ceil(Math.log10(top));
      let lo = Math.max(10 ** Math.floor(Math.log10(Math.min(...positive))), hi / 1e5);
      if (lo >= hi) lo = hi / 10;
      const decades = Math.round(Math.log10(hi / lo));
      const below = values.some((v) => v < lo);
      const ticks = Array.from({ length: decades + 1 }, (_, d) => {
        const v = clean(lo * 10 ** d);
        return { v, label: `${d === 0 && below ? '≤' : ''}${fmtTick(v)}${unit}` };
      });
      return {
        frac: (v) => Math.log10(Math.max(v, lo) / lo) / decades,
        ticks,
        note: below
          ? `log scale; values under ${fmtTick(lo)}${values.includes(0) ? ' (0 included)' : ''} drawn at ${fmtTick(lo)}`
          : 'log scale',
      };
    }
    // Nothing above zero: a log axis would have no decade to show.
    const ticks = niceTicks(1, 1).map((v) => ({ v, label: `${fmtTick(v)}${unit}` }));
    return { frac: (v) => v, ticks, note: 'none: 0 throughout, for every series' };
  }
  const ticks = niceTicks(p.y.max ?? top * 1.05, p.y.max === 100 ? 4 : 5);
  const hi = ticks.at(-1)!;
  return { frac: (v) => Math.min(v, hi) / hi, ticks: ticks.map((v) => ({ v, label: `${fmtTick(v)}${unit}` })) };
}

/** A marker's markup at (x, y). */
function marker(m: Marker, x: number, y: number, color: string): string {
  const r = 3.5;
  const at = (pts: [number, number][]) =>
    pts.map(([dx, dy]) => `${(x + dx).toFixed(1)},${(y + dy).toFixed(1)}`).join(' ');
  const attrs = `fill="${color}" stroke="white" stroke-width="0.8"`;
  switch (m) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" ${attrs}/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" ${attrs}/>`;
    case 'triangle':
      return `<polygon points="${at([
        [0, -r - 1],
        [r + 0.5, r],
        [-r - 0.5, r],
      ])}" ${attrs}/>`;
    case 'diamond':
      return `<polygon points="${at([
        [0, -r - 1],
        [r + 1, 0],
        [0, r + 1],
        [-r - 1, 0],
      ])}" ${attrs}/>`;
    case 'cross':
      return `<path d="M${x - r},${y - r}L${x + r},${y + r}M${x - r},${y + r}L${x + r},${y - r}" stroke="${color}" stroke-width="2"/>`;
    case 'bar':
      return `<path d="M${x},${y - r - 1}L${x},${y + r + 1}" stroke="${color}" stroke-width="2.5"/>`;
    default:
      return '';
  }
}

/** A legend entry's swatch: a short stretch of the line as drawn, its marker in the middle. */
const swatch = (s: Style, x: number, y: number) =>
  `<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>${marker(s.marker, x + 14, y, s.color)}`;

/** One panel: title, legend, axes with labels, the shaded window, the series. A <g> to place in an svg(). */
export function panel(p: Panel): string {
  const { box } = p;
  // The legend wraps within the panel's width; each entry's width estimated from its label.
  const entries: { s: Series; x: number; row: number }[] = [];
  let lx = 0;
  let row = 0;
  for (const s of p.series) {
    const w = 52 + s.label.length * 7;
    if (lx > 0 && lx + w > box.width - 70) [lx, row] = [0, row + 1];
    entries.push({ s, x: lx, row });
    lx += w;
  }
  const pad = { l: 64, r: p.endLabels ? 120 : 16, t: 44 + (row + 1) * 16, b: 40 };
  const w = box.width - pad.l - pad.r;
  const h = box.height - pad.t - pad.b;
  const [x0, y0] = [box.x + pad.l, box.y + pad.t];
  const n = Math.max(1, ...p.series.map((s) => s.values.length));
  const span = n * p.step;
  const per = p.x.per ?? 1;
  const xAt = (units: number) => x0 + (w * units) / span;
  const ys = yScale(p);
  const yAt = (v: number) => y0 + h - h * Math.min(1, Math.max(0, ys.frac(v)));
  const out: string[] = [`<g class="panel">`];
  out.push(`<text x="${x0}" y="${box.y + 16}" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (const e of entries) {
    const ex = x0 + e.x;
    const ey = box.y + 32 + e.row * 16;
    out.push(`<g class="legend">${swatch(e.s, ex, ey - 4)}<text x="${ex + 34}" y="${ey}">${esc(e.s.label)}</text></g>`);
  }
  if (p.shade) {
    const [a, b] = [xAt(p.shade.from), xAt(p.shade.to)];
    out.push(`<rect x="${a.toFixed(1)}" y="${y0}" width="${(b - a).toFixed(1)}" height="${h}" fill="#f6e3cf"/>`);
    out.push(`<text x="${a.toFixed(1)}" y="${y0 - 4}" fill="#8a5a00">${esc(p.shade.label)}</text>`);
  }
  for (const t of ys.ticks) {
    const py = yAt(t.v).toFixed(1);
    out.push(`<line x1="${x0}" y1="${py}" x2="${x0 + w}" y2="${py}" stroke="#ddd"/>`);
    out.push(`<text class="tick y" x="${x0 - 6}" y="${Number(py) + 4}" text-anchor="end">${esc(t.label)}</text>`);
  }
  for (const v of niceTicks(span / per, 10).filter((v) => v * per <= span * (1 + 1e-9))) {
    const px = xAt(v * per).toFixed(1);
    out.push(`<line x1="${px}" y1="${y0 + h}" x2="${px}" y2="${y0 + h + 4}" stroke="#444"/>`);
    out.push(`<text class="tick x" x="${px}" y="${y0 + h + 17}" text-anchor="middle">${fmtTick(v)}</text>`);
  }
  out.push(`<line x1="${x0}" y1="${y0 + h}" x2="${x0 + w}" y2="${y0 + h}" stroke="#444"/>`);
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" stroke="#444"/>`);
  out.push(`<text class="axis-label x" x="${x0 + w}" y="${y0 + h + 34}" text-anchor="end">${esc(p.x.label)}</text>`);
  const ly = y0 + h / 2;
  out.push(
    `<text class="axis-label y" x="${box.x + 14}" y="${ly}" text-anchor="middle" transform="rotate(-90 ${box.x + 14} ${ly})">${esc(p.y.label)}</text>`,
  );
  if (ys.note?.startsWith('none')) {
    out.push(
      `<text class="note" x="${x0 + w / 2}" y="${y0 + h / 2}" text-anchor="middle" font-size="15" fill="#555">${esc(ys.note)}</text>`,
    );
  } else if (ys.note) out.push(`<text class="note" x="${x0}" y="${y0 + h + 34}" fill="#666">${esc(ys.note)}</text>`);
  const every = Math.max(1, Math.round(n / 12));
  const ends: { s: Series; y: number }[] = [];
  p.series.forEach((s, k) => {
    const pts = s.values.map((v, i) =>
      v === undefined || !Number.isFinite(v) ? undefined : ([xAt((i + 0.5) * p.step), yAt(v)] as const),
    );
    const d = pts
      .map((pt, i) => (pt ? `${i === 0 || !pts[i - 1] ? 'M' : 'L'}${pt[0].toFixed(1)},${pt[1].toFixed(1)}` : ''))
      .join('');
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(
      `<path class="series" data-label="${esc(s.label)}" data-dash="${s.dash}" data-marker="${s.marker}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-linejoin="round"${dash}/>`,
    );
    // Markers at staggered points, so the markers of two lines lying on each other do not hide each other either.
    const offset = Math.round((k * every) / p.series.length);
    const marks = pts.filter((pt, i) => pt && (i + offset) % every === 0) as [number, number][];
    if (s.marker !== 'none') out.push(marks.map(([mx, my]) => marker(s.marker, mx, my, s.color)).join(''));
    const last = pts.findLast((pt) => pt !== undefined);
    if (last) ends.push({ s, y: last[1] });
  });
  if (p.endLabels) {
    // Names at the lines' ends, pushed apart when they would overlap.
    ends.sort((a, b) => a.y - b.y);
    let prev = -Infinity;
    for (const e of ends) {
      const ty = Math.max(e.y + 4, prev + 14);
      prev = ty;
      out.push(
        `<text class="end" x="${x0 + w + 6}" y="${ty.toFixed(1)}" fill="${e.s.color}" font-weight="bold">${esc(e.s.label)}</text>`,
      );
    }
  }
  out.push('</g>');
  return out.join('\n');
}

/** A whole chart: panels in one svg, sized by its viewBox so a page can scale it to its width. */
export function svg(title: string, width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}
