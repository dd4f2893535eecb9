// Types of bench/fleet/run.js for the test that imports it (test/bench/fleet.test.ts).

export interface FleetSummary {
  lookups: number;
  failedPct: number;
  stalePct: number;
  seenLookups: number;
  seenFailed: number;
  seenFailedPct: number;
  steadyQps: number;
  steadyPeakQps: number;
  faultPeakQps: number;
  recoveryPeakQps: number;
  afterMeanQps: number;
  capacityQps: number;
  refused: number;
  servfail: number;
  /** Health checks at CoreDNS: the busiest second from the fault to the end of recovery, the mean over the fault. */
  probePeakQps: number;
  probeMeanQps: number;
  /** SERVFAIL and REFUSED answers to health checks, over the run. */
  probeErrors: number;
  recoverySeconds: number | undefined;
}

export interface FleetRun {
  scenario: string;
  policy: string;
  label: string;
  times: { warmS: number; faultS: number; recoverS: number; faultStart: number; faultEnd: number; seconds: number };
  scale: number;
  coredns: { fleetReplicas: number; replicas: number; qps: number; maxConcurrent: number; total: number };
  summary: FleetSummary;
  series: Record<string, number[]>;
}

export interface FleetOptions {
  scenario: 'dec-2024' | 'unreachable' | 'overload' | 'rolling-restart';
  policy: 'nodelocal' | 'ballast' | 'no-jitter' | 'no-coalescing' | 'no-stale' | 'no-snapshot';
  nodes?: number;
  seed?: number;
  lookupsPerSecond?: number;
  phases?: { warmS?: number; faultS?: number; recoverS?: number };
  calibratedQps?: number;
  /** ballast settings (the product's config schema) over the simulation's. */
  ballast?: Record<string, unknown>;
  [parameter: string]: unknown;
}

export function runFleet(opts: FleetOptions): Promise<FleetRun>;
