import { Rcode, type ResponseScan } from '../wire/index.js';

/** How long an upstream that answered an EDNS query without EDNS is asked without it, before EDNS is tried again. */
export const NO_EDNS_MS = 10 * 60_000;

/**
 * Whether one upstream speaks EDNS (RFC 6891 §7). A server that does not answers a query with an OPT record with
 * FORMERR or NOTIMP and no OPT of its own: the query is asked again at once without the OPT, and the server is
 * asked without EDNS for NO_EDNS_MS, then with EDNS again. An EDNS server that fails a query says so with an OPT
 * of its own, so it is not taken for an old one.
 */
export class EdnsSupport {
  private plainUntil = -Infinity;

  /** Whether to ask without EDNS now. */
  plain(nowMs: number): boolean {
    return nowMs < this.plainUntil;
  }

  /** The answer to a query that carried an OPT: whether it says the server does not speak EDNS (then remembered). */
  lacking(scan: ResponseScan, nowMs: number): boolean {
    if (scan.optStart !== -1 || (scan.rcode !== Rcode.FORMERR && scan.rcode !== Rcode.NOTIMP)) return false;
    this.plainUntil = nowMs + NO_EDNS_MS;
    return true;
  }
}
