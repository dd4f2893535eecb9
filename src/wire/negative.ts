import { Rcode } from './constants.js';
import type { ResponseScan } from './scan.js';

/** What a negative answer says (RFC 2308 §1): the name does not exist, or it has no records of the type asked. */
export type NegativeKind = 'NXDOMAIN' | 'NODATA';

/**
 * Whether an answer is negative, and how; undefined for a positive one (or an error rcode). NXDOMAIN whatever it
 * carries; NODATA for a NOERROR with no answer records, or with answers none of which is of the asked type and an SOA
 * in the authority section: a CNAME chain that ends in NODATA (RFC 2308 §2.2). A chain without an SOA is passed on as
 * the upstream gave it (docs/design.md §6: CNAME chains are not chased). The one definition for caching (the
 * negative TTL) and for last known good (a contradiction).
 */
export function negativeKind(scan: ResponseScan): NegativeKind | undefined {
  if (scan.rcode === Rcode.NXDOMAIN) return 'NXDOMAIN';
  if (scan.rcode !== Rcode.NOERROR) return undefined;
  return scan.ancount === 0 || (scan.qtypeAnswers === 0 && scan.soaTtl >= 0) ? 'NODATA' : undefined;
}
