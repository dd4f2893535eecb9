// SVG line charts over time for the fleet report: one line per policy, the fault's window shaded, an optional
// reference line (CoreDNS's capacity). Drawn by src/util/chart.ts: round ticks, labelled axes, no log axis over zeros,
// and a style per policy (colour, dash, width, marker) so that a line lying on another one still shows: NodeLocal
// DNSCache wide underneath, ballast narrower over it, each ablation dashed with its own marker over both.

import { panel, type Series, type Style, svg } from '../util/chart.js';
import type { PolicyName } from './model.js';

export const COLORS: Record<PolicyName, string> = {
  nodelocal: '#d9534f',
  ballast: '#2b6cb0',
  'no-jitter': '#dd8a00',
  'no-coalescing': '#7b4fb3',
  'no-stale': '#3a9d5d',
  'no-snapshot': '#6b6b6b',
  'no-lkg': '#0f9d9a',
};

const style = (policy: PolicyName, width: number, dash: string, marker: Style['marker']): Style => ({
  color: COLORS[policy],
  width,
  dash,
  marker,
});

/** How each policy's line is drawn; no two alike in colour, nor in dash and marker. */
export const STYLES: Record<PolicyName, Style> = {
  nodelocal: style('nodelocal', 5, '', 'none'),
  ballast: style('ballast', 2.5, '', 'circle'),
  'no-jitter': style('no-jitter', 1.8, '9,4', 'triangle'),
  'no-coalescing': style('no-coalescing', 1.8, '2,3', 'square'),
  'no-stale': style('no-stale', 1.8, '9,3,2,3', 'diamond'),
  'no-snapshot': style('no-snapshot', 1.8, '5,3', 'cross'),
  'no-lkg': style('no-lkg', 1.8, '12,3', 'bar'),
};

/** The reference line: CoreDNS's capacity. */
export const REFERENCE: Style = { color: '#111', width: 1.6, dash: '2,3', marker: 'none' };

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

/** One line of a chart. */
export interface Line {
  label: string;
  style: Style;
  values: number[];
}

export interface LineChartOptions {
  title: string;
  lines: Line[];
  bucketS: number;
  /** The fault's window, in seconds. */
  shade?: [number, number];
  reference?: { label: string; values: number[] };
  /** The y axis's label, with its unit. */
  yLabel: string;
  /** A share: ticks end in %, the axis tops out at 100 unless `fixedMax` is left out. */
  percent?: boolean;
  fixedMax?: number;
  /** A logarithmic y axis, for query rates that span a probe a second to CoreDNS's capacity. */
  log?: boolean;
  width?: number;
  height?: number;
}

/** A line chart as an SVG string, its size a viewBox the page scales to its width. */
export function lineChart(o: LineChartOptions): string {
  const { width = 720, height = 320 } = o;
  const series: Series[] = [
    ...o.lines.map((l) => ({ ...l.style, label: l.label, values: l.values })),
    ...(o.reference ? [{ ...REFERENCE, label: o.reference.label, values: o.reference.values }] : []),
  ];
  return svg(o.title, width, height, [
    panel({
      box: { x: 0, y: 0, width, height },
      title: o.title,
      series,
      step: o.bucketS,
      x: { label: 'minutes since the start', per: 60 },
      y: { label: o.yLabel, percent: o.percent, max: o.fixedMax, log: o.log },
      shade: o.shade ? { from: o.shade[0], to: o.shade[1], label: 'fault' } : undefined,
    }),
  ]);
}
