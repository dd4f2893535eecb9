import { QTYPE_ANY, type Query, Rcode, synthesizeAny } from '../wire/index.js';
import type { ResolveMetrics } from './metrics.js';

/**
 * RFC 8482: an ANY query is answered here with one synthesized HINFO record (src/wire/any.ts), counted as a
 * synthesized NOERROR, and never reaches the cache or an upstream (docs/design.md §6).
 */
export function answerAny(q: Query, udpSize: number, metrics: ResolveMetrics): Buffer {
  metrics.response('synthesized', Rcode.NOERROR);
  return synthesizeAny(q, udpSize);
}

/** Whether `q` asks QTYPE ANY ("*", RFC 1035 §3.2.3). */
export function isAny(q: Query): boolean {
  return q.qtype === QTYPE_ANY;
}
