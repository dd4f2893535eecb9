import { Qclass, type Query, Rcode, RrType } from '../wire/index.js';

/** What ballast answers itself, never forwarding or caching it: the rcode (with EDE 21, Not Supported). */
export type OutOfScope = typeof Rcode.REFUSED | typeof Rcode.FORMERR | typeof Rcode.NOTIMP;

/**
 * The questions ballast answers itself, before the cache (docs/conformance.md), the same whether or not anything
 * is cached:
 *
 * - REFUSED: zone transfers (AXFR, IXFR: a node cache holds no zones); signed queries (TSIG, RFC 8945; SIG(0),
 *   RFC 2931), since ballast verifies no signature and must never answer a signed query with an unsigned NOERROR;
 *   and every class but IN and NONE (CHAOS `version.bind` and `id.server` would otherwise return CoreDNS's identity
 *   as if it were ballast's; ballast serves the Internet class only).
 * - FORMERR: QCLASS NONE, which only UPDATE uses (RFC 2136 §2.4, RFC 6895 §3.2), as BIND answers it; and the
 *   meta-types that are never a question (RFC 6895 §3.1): OPT (RFC 6891 §6.1.1), TKEY and TSIG (only records of a
 *   transaction).
 * - NOTIMP: the obsolete MAILA and MAILB (RFC 1035 §3.2.3; RFC 883 mail, never deployed), as BIND answers them.
 */
export function outOfScope(q: Query): OutOfScope | undefined {
  const t = q.qtype;
  if (q.qclass === Qclass.NONE) return Rcode.FORMERR;
  if (t === RrType.AXFR || t === RrType.IXFR || q.signed || q.qclass !== Qclass.IN) return Rcode.REFUSED;
  if (t === RrType.OPT || t === RrType.TKEY || t === RrType.TSIG) return Rcode.FORMERR;
  if (t === RrType.MAILA || t === RrType.MAILB) return Rcode.NOTIMP;
  return undefined;
}
