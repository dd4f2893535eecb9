import type { PhaseSummary, Second } from './summary.js';

/**
 * `ballast drill`: steady query load at a target resolver through warm → fault → recover, with the fault switched
 * on and off over the target's admin API (or, with `external`, by the operator or Chaos Mesh), a live line per
 * second, a table per phase, SLO gates and an HTML report (docs/design.md §9).
 */
export interface DrillOptions {
  readonly target: { host: string; port: number };
  readonly admin?: { host: string; port: number };
  readonly fault: {
    kind: string;
    zone?: string;
    upstream?: string;
    delayMs?: number;
    spreadMs?: number;
    percent?: number;
    concurrency?: number;
  };
  readonly warmSeconds: number;
  readonly faultSeconds: number;
  readonly recoverSeconds: number;
  readonly rate: number;
  readonly protocol: 'udp' | 'tcp';
  readonly timeoutMs: number;
  readonly namesFile?: string;
  readonly external: boolean;
  readonly sloAnsweredPct?: number;
  readonly sloP99Ms?: number;
  readonly json: boolean;
  readonly reportFile?: string;
  readonly tokenFile?: string;
  /** Where live lines and notices go (stderr); tests capture them. */
  readonly out: (line: string) => void;
}

export interface DrillResult {
  readonly summaries: PhaseSummary[];
  readonly seconds: Second[];
  readonly sloMisses: string[];
}
