/** The drill's results: per-second samples, per-phase summaries and the terminal table (html.ts draws the report). */

export type Phase = 'warm' | 'fault' | 'recover';
export const PHASES: readonly Phase[] = ['warm', 'fault', 'recover'];

/** One second of the drill. */
export interface Second {
  readonly t: number;
  readonly phase: Phase;
  sent: number;
  answered: number;
  stale: number;
  /** Answered NXDOMAIN, or NOERROR with no records (NODATA): for names known to exist, a wrong answer. */
  negative: number;
  servfail: number;
  other: number;
  timeouts: number;
  readonly latenciesMs: number[];
  /** Upstream queries the target sent during this second (from its metrics), when known. */
  upstream: number | undefined;
}

export interface PhaseSummary {
  readonly phase: Phase;
  readonly seconds: number;
  readonly sent: number;
  readonly answeredPct: number;
  readonly stalePct: number;
  readonly negativePct: number;
  readonly servfailPct: number;
  readonly timeouts: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Mean upstream queries per second, or undefined without the target's metrics. */
  readonly upstreamPerSecond: number | undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(seconds: Second[]): PhaseSummary[] {
  return PHASES.map((phase) => {
    const ss = seconds.filter((s) => s.phase === phase);
    const sum = (f: (s: Second) => number) => ss.reduce((a, s) => a + f(s), 0);
    const sent = sum((s) => s.sent);
    const pct = (n: number) => (sent === 0 ? Number.NaN : (100 * n) / sent);
    const lat = ss.flatMap((s) => s.latenciesMs).sort((a, b) => a - b);
    const known = ss.filter((s) => s.upstream !== undefined);
    return {
      phase,
      seconds: ss.length,
      sent,
      answeredPct: pct(sum((s) => s.answered)),
      stalePct: pct(sum((s) => s.stale)),
      negativePct: pct(sum((s) => s.negative)),
      servfailPct: pct(sum((s) => s.servfail)),
      timeouts: sum((s) => s.timeouts),
      p50Ms: percentile(lat, 50),
      p95Ms: percentile(lat, 95),
      p99Ms: percentile(lat, 99),
      upstreamPerSecond:
        known.length === 0 ? undefined : known.reduce((a, s) => a + (s.upstream ?? 0), 0) / known.length,
    };
  });
}

/** A figure for a table cell: n/a when missing. */
export const num = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);

/** The end-of-drill table, as plain text for a terminal. */
export function table(summaries: PhaseSummary[]): string {
  const head = [
    'phase',
    'sent',
    'answered %',
    'stale %',
    'negative %',
    'SERVFAIL %',
    'timeouts',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'upstream q/s',
  ];
  const rows = summaries.map((s) => [
    s.phase,
    String(s.sent),
    num(s.answeredPct, 2),
    num(s.stalePct),
    num(s.negativePct, 2),
    num(s.servfailPct, 2),
    String(s.timeouts),
    num(s.p50Ms, 2),
    num(s.p95Ms, 2),
    num(s.p99Ms, 2),
    num(s.upstreamPerSecond),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
