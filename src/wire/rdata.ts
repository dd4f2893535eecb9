import { RrType } from './constants.js';
import { BAD_NAME } from './name.js';

const AAAA = 28;
const DNAME = 39;

/**
 * Whether the RDATA in [start, end) has the shape its type requires, for the types whose shape is known to every
 * resolver and stub (RFC 1035 §3.3–3.4, RFC 3596, RFC 2782, RFC 6672): an A record of exactly 4 bytes, an AAAA of 16,
 * names that end exactly where the RDATA does, TXT character-strings that fill it. ballast forwards answers byte for
 * byte, so whatever it accepts reaches every pod's resolver; a stub that trusts RDLENGTH (musl and glibc both read
 * RDATA by type) must never be handed an A record of 3 bytes or a CNAME that runs into the next record. Other types
 * are opaque (RFC 3597) and pass unread. `skipName(at, end)` reads one name, as the caller reads names.
 */
export function rdataShapeOk(
  buf: Buffer,
  type: number,
  start: number,
  end: number,
  skipName: (at: number, end: number) => number,
): boolean {
  switch (type) {
    case RrType.A:
      return end - start === 4;
    case AAAA:
      return end - start === 16;
    case RrType.NS:
    case RrType.CNAME:
    case RrType.PTR:
    case DNAME:
      return skipName(start, end) === end;
    case RrType.MX:
      return end - start > 2 && skipName(start + 2, end) === end;
    case RrType.SRV:
      return end - start > 6 && skipName(start + 6, end) === end;
    case RrType.SOA: {
      // MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
      let p = skipName(start, end);
      if (p !== BAD_NAME) p = skipName(p, end);
      return p !== BAD_NAME && p + 20 === end;
    }
    case RrType.TXT: {
      // One or more character-strings (RFC 1035 §3.3.14).
      if (end === start) return false;
      let p = start;
      while (p < end) p += buf[p] + 1;
      return p === end;
    }
    default:
      return true;
  }
}
