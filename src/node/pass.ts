import type { NodeErrorKind, NodeMetrics, NodeRepairKind } from './metrics.js';

export interface Failure {
  readonly kind: NodeErrorKind;
  readonly message: string;
}

/**
 * What one setup, resync or teardown pass did: every step records here instead of throwing, and the pass is
 * logged and counted once at the end. A repair (something set up before, found missing, added back) is counted at
 * once in ballast_node_repairs_total.
 */
export class Pass {
  readonly added: string[] = [];
  readonly repaired: string[] = [];
  readonly removed: string[] = [];
  readonly failures: Failure[] = [];

  constructor(private readonly metrics: NodeMetrics) {}

  /** Something was missing and was added; `repair` names it when it had been in place before. */
  add(what: string, repair?: NodeRepairKind): void {
    this.added.push(what);
    if (repair === undefined) return;
    this.repaired.push(what);
    this.metrics.repairs.labels(repair).inc();
  }

  fail(kind: NodeErrorKind, err: unknown): void {
    this.failures.push({ kind, message: err instanceof Error ? err.message : String(err) });
  }
}
