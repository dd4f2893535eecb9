import { Flag } from './constants.js';
import { type ResponseScan, scanResponse } from './scan.js';

/**
 * An upstream answer in the form ballast keeps and serves (docs/design.md §6): without the upstream's OPT record —
 * OPT is hop-by-hop (RFC 6891 §6.1.1), so its payload size, NSID, cookies, padding and unknown options never reach a
 * client; ballast writes its own when it serves — with AA cleared, since ballast is never authoritative for what it
 * caches (RFC 1035 §4.1.1), and RA set, since it offers recursion. The full rcode (OPT's extended bits included)
 * stays in the scan. Returns the same buffer when there is nothing to change.
 */
export function storedForm(bytes: Buffer, scan: ResponseScan): { bytes: Buffer; scan: ResponseScan } {
  const flags = (scan.flags & ~Flag.AA) | Flag.RA;
  if (scan.optStart === -1 && flags === scan.flags) return { bytes, scan };
  let out: Buffer;
  if (scan.optStart === -1) {
    out = Buffer.from(bytes);
  } else {
    out = Buffer.allocUnsafe(bytes.length - (scan.optEnd - scan.optStart));
    bytes.copy(out, 0, 0, scan.optStart);
    bytes.copy(out, scan.optStart, scan.optEnd);
    out.writeUInt16BE(scan.arcount - 1, 10);
  }
  out.writeUInt16BE(flags, 2);
  const rescanned = scanResponse(out);
  // The extended rcode bits lived in the OPT record just removed.
  return { bytes: out, scan: { ...rescanned, rcode: scan.rcode } };
}
