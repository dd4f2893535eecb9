// Per-second counters of one run, and the figures the report is made of. Counts are of the sample; the report scales
// query rates to the whole fleet (× fleetNodes / nodes) and keeps shares as they are.

import type { Sim } from './engine.js';

const FIELDS = [
  'lookups',
  'failed',
  'stale',
  'seenLookups',
  'seenFailed',
  'offered',
  'probes',
  'probeErrors',
  'answered',
  'servfail',
  'refused',
  'connRefused',
  'corednsCacheHits',
  'capacity',
] as const;

/** One per-second series of a run. */
export type Field = (typeof FIELDS)[number];

export class Stats {
  readonly series: Record<Field, Float64Array>;

  constructor(
    private readonly sim: Sim,
    readonly seconds: number,
  ) {
    this.series = Object.fromEntries(FIELDS.map((f) => [f, new Float64Array(seconds)])) as Record<Field, Float64Array>;
  }

  second(ms: number): number {
    return Math.min(this.seconds - 1, Math.max(0, Math.floor(ms / 1000)));
  }

  add(field: Field, sec: number, n = 1): void {
    this.series[field][sec] += n;
  }

  /** One getaddrinfo() has ended; `seen`: its name was looked up on this node before the fault began. */
  lookup(ok: boolean, stale: boolean, seen: boolean): void {
    const sec = this.second(this.sim.t);
    const s = this.series;
    s.lookups[sec]++;
    if (!ok) s.failed[sec]++;
    else if (stale) s.stale[sec]++;
    if (seen) {
      s.seenLookups[sec]++;
      if (!ok) s.seenFailed[sec]++;
    }
  }
}

const sum = (a: Float64Array, from: number, to: number) => {
  let t = 0;
  for (let i = from; i < to; i++) t += a[i];
  return t;
};

/** Seconds in the steady window (before the fault) and in the recovery window (from its end): equal, so peaks compare. */
export const WINDOW_S = 120;

/**
 * The figures of one run. "Steady" is the WINDOW_S seconds before the fault; "recovery" the WINDOW_S seconds from its
 * end. Both peaks are busiest seconds over windows of the same length, so that noise alone does not make one exceed
 * the other. A run has fully recovered at the first second after which no 10-second window has a failed lookup, a
 * stale share above the steady window's plus 0.5 points, or a REFUSED/SERVFAIL from CoreDNS.
 */
export type FleetSummary = ReturnType<typeof summarize>;

export function summarize(stats: Stats, scenario: { faultStart: number; faultEnd: number }, scale: number) {
  const s = stats.series;
  const n = stats.seconds;
  const { faultStart, faultEnd } = scenario;
  const steadyFrom = Math.max(0, faultStart - WINDOW_S);
  const recoveryTo = Math.min(n, faultEnd + WINDOW_S);
  const pct = (num: number, den: number) => (den === 0 ? 0 : (100 * num) / den);
  const max = (a: Float64Array, from: number, to: number) => {
    let m = 0;
    for (let i = from; i < to; i++) m = Math.max(m, a[i]);
    return m;
  };
  const steadyStale = pct(sum(s.stale, steadyFrom, faultStart), sum(s.lookups, steadyFrom, faultStart));
  const bad = (i: number) => {
    const to = Math.min(n, i + 10);
    const stale = pct(sum(s.stale, i, to), sum(s.lookups, i, to));
    return sum(s.failed, i, to) > 0 || stale > steadyStale + 0.5 || sum(s.refused, i, to) + sum(s.servfail, i, to) > 0;
  };
  let recovered = n;
  for (let i = n - 10; i >= faultEnd; i--) {
    if (bad(i)) break;
    recovered = i;
  }
  return {
    lookups: sum(s.lookups, 0, n),
    failedPct: pct(sum(s.failed, faultStart, n), sum(s.lookups, faultStart, n)),
    stalePct: pct(sum(s.stale, faultStart, n), sum(s.lookups, faultStart, n)),
    seenLookups: sum(s.seenLookups, faultStart, n),
    seenFailed: sum(s.seenFailed, faultStart, n),
    seenFailedPct: pct(sum(s.seenFailed, faultStart, n), sum(s.seenLookups, faultStart, n)),
    steadyQps: (sum(s.offered, steadyFrom, faultStart) / (faultStart - steadyFrom)) * scale,
    steadyPeakQps: max(s.offered, steadyFrom, faultStart) * scale,
    faultPeakQps: max(s.offered, faultStart, faultEnd) * scale,
    probePeakQps: max(s.probes, faultStart, recoveryTo) * scale,
    probeMeanQps: (sum(s.probes, faultStart, faultEnd) / (faultEnd - faultStart)) * scale,
    recoveryPeakQps: max(s.offered, faultEnd, recoveryTo) * scale,
    afterMeanQps: recoveryTo < n ? (sum(s.offered, recoveryTo, n) / (n - recoveryTo)) * scale : 0,
    capacityQps: (sum(s.capacity, steadyFrom, faultStart) / (faultStart - steadyFrom)) * scale,
    refused: sum(s.refused, 0, n) * scale,
    servfail: sum(s.servfail, 0, n) * scale,
    probeErrors: sum(s.probeErrors, 0, n) * scale,
    recoverySeconds: recovered >= n ? undefined : recovered - faultEnd,
  };
}
