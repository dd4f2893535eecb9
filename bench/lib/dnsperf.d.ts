// Types of the parts of bench/lib/dnsperf.js that the TypeScript tests use (test/bench/dnsperf.test.ts).
export function readVerboseLatencies(
  file: string,
): Promise<{ lat: Float64Array; timeouts: number; interrupted: number }>;
export function percentile(sorted: Float64Array, lost: number, p: number): number | null;
export function lateShare(sorted: Float64Array, lost: number, ms: number): number | null;
