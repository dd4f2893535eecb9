export interface HandoverStats {
  lookups: number;
  failed: number;
  firstLost: number;
}
export function runHandover(opts?: {
  seconds?: number;
  rate?: number;
  timeoutMs?: number;
  attempts?: number;
}): Promise<{
  stats: { udp: HandoverStats; tcp: HandoverStats };
  aExit: number | null;
  timeline: [string, number][];
  seconds: number;
  rate: number;
  timeoutMs: number;
  attempts: number;
}>;
