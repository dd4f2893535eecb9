import { type Query, RrType } from '../wire/index.js';

/**
 * What ballast does not do, refused before the cache: zone transfers (AXFR, IXFR: a node cache holds no zones) and
 * signed queries (TSIG, RFC 8945; SIG(0), RFC 2931), since ballast verifies no signature and must never answer a
 * signed query with an unsigned NOERROR. Consistent for every such query, whether or not anything is cached.
 */
export function outOfScope(q: Query): boolean {
  return q.qtype === RrType.AXFR || q.qtype === RrType.IXFR || q.signed;
}
