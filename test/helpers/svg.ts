// Reading back the charts of src/util/chart.ts from their SVG text, as a reader would see them: each panel's series
// (stroke, dash, marker, the points drawn), its tick labels and axis labels. The checks the report tests share.
import { expect } from 'vitest';

export interface DrawnSeries {
  label: string;
  stroke: string;
  dash: string;
  marker: string;
  points: [number, number][];
}

export interface DrawnPanel {
  title: string;
  series: DrawnSeries[];
  yTicks: string[];
  xTicks: string[];
  yLabel: string;
  xLabel: string;
  note: string | undefined;
}

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) =>
    m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'),
  );

/** Every panel of every chart in `markup` (an SVG, or an HTML page with several). */
export function panels(markup: string): DrawnPanel[] {
  return [...markup.matchAll(/<g class="panel">([\s\S]*?)<\/g>\n?(?=<g class="panel">|<\/svg>)/g)].map(([, body]) => ({
    title: /<text [^>]*font-weight="bold">([^<]*)<\/text>/.exec(body)?.[1] ?? '',
    series: [...body.matchAll(/<path class="series"[^>]*\/>/g)].map(([tag]) => ({
      label: attr(tag, 'data-label') ?? '',
      stroke: attr(tag, 'stroke') ?? '',
      dash: attr(tag, 'data-dash') ?? '',
      marker: attr(tag, 'data-marker') ?? '',
      points: [...(attr(tag, 'd') ?? '').matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map(
        (m) => [Number(m[1]), Number(m[2])] as [number, number],
      ),
    })),
    yTicks: texts(body, 'tick y'),
    xTicks: texts(body, 'tick x'),
    yLabel: texts(body, 'axis-label y')[0] ?? '',
    xLabel: texts(body, 'axis-label x')[0] ?? '',
    note: texts(body, 'note')[0],
  }));
}

/** A tick label's number: "2.5k" → 2500, "100%" → 100, "≤10" → 10. */
export function tickValue(label: string): number {
  const m = /^≤?(-?[\d.]+)(k|M)?%?$/.exec(label);
  if (m === null) throw new Error(`tick label ${JSON.stringify(label)} is not a number`);
  return Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1);
}

/** The mantissa of a positive number: 250 → 2.5. */
export const mantissa = (v: number) => Number((v / 10 ** Math.floor(Math.log10(v))).toPrecision(6));

/** The longest run of consecutive points two series share (same place to half a pixel). */
export function sharedRun(a: DrawnSeries, b: DrawnSeries): number {
  const at = new Map(b.points.map(([x, y]) => [x.toFixed(0), y]));
  let best = 0;
  let run = 0;
  for (const [x, y] of a.points) {
    const other = at.get(x.toFixed(0));
    run = other !== undefined && Math.abs(other - y) <= 0.5 ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/**
 * The rules every panel keeps: series told apart (no two with the same stroke and dash; two that lie on each other
 * for 3 points or more differ in dash or marker), round y ticks labelled with a unit, a log axis only over positive
 * values. Returns the pairs of series that lie on each other, for the caller to expect.
 */
export function expectReadable(p: DrawnPanel): string[] {
  const where = p.title;
  expect(p.series.length, where).toBeGreaterThan(0);
  const overlapping: string[] = [];
  for (const [i, a] of p.series.entries()) {
    for (const b of p.series.slice(i + 1)) {
      const pair = `${a.label} / ${b.label}`;
      expect(`${a.stroke} ${a.dash}`, `${where}: ${pair}`).not.toBe(`${b.stroke} ${b.dash}`);
      if (sharedRun(a, b) >= 3) {
        overlapping.push(pair);
        expect(`${a.dash} ${a.marker}`, `${where}: ${pair} coincide`).not.toBe(`${b.dash} ${b.marker}`);
      }
    }
  }
  // Axis labels name a unit.
  expect(p.yLabel, where).toMatch(/%|\/s\b/);
  expect(p.xLabel, where).toMatch(/seconds|minutes/);
  const values = p.yTicks.map(tickValue);
  expect(values.length, where).toBeGreaterThanOrEqual(2);
  const log = p.note?.startsWith('log scale') === true;
  if (log) {
    // Powers of ten, nothing at or below zero.
    for (const label of p.yTicks) expect(label, where).not.toMatch(/^≤?0(%|$)/);
    for (const [i, v] of values.entries()) {
      expect(mantissa(v), where).toBe(1);
      if (i > 0) expect(v / values[i - 1], where).toBeCloseTo(10, 6);
    }
  } else {
    const step = values[1] - values[0];
    expect([1, 2, 2.5, 5], `${where}: step ${step}`).toContain(mantissa(step));
    for (const [i, v] of values.entries()) expect(v, `${where}: tick ${i}`).toBeCloseTo(i * step, 9);
    if (p.yTicks.some((t) => t.endsWith('%')))
      expect(
        p.yTicks.every((t) => t.endsWith('%')),
        where,
      ).toBe(true);
  }
  const xs = p.xTicks.map(tickValue);
  const xStep = xs[1] - xs[0];
  expect([1, 2, 2.5, 5], `${where}: x step ${xStep}`).toContain(mantissa(xStep));
  for (const [i, v] of xs.entries()) expect(v, `${where}: x tick ${i}`).toBeCloseTo(i * xStep, 9);
  return overlapping;
}
