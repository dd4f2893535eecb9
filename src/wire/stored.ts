import { Flag, RrType } from './constants.js';
import { type ResponseScan, scanResponse } from './scan.js';

const DNAME = 39;

/**
 * An upstream answer in the form ballast keeps and serves (docs/design.md §6): without the upstream's OPT record —
 * OPT is hop-by-hop (RFC 6891 §6.1.1), so its payload size, NSID, cookies, padding and unknown options never reach a
 * client; ballast writes its own when it serves — with AA cleared, since ballast is never authoritative for what it
 * caches (RFC 1035 §4.1.1), and RA set, since it offers recursion. AD is cleared unless `keepAd`: ballast validates
 * nothing, so it may only pass on the upstream's claim of authenticated data when told to trust it (RFC 4035
 * §3.2.3, RFC 6840 §5.8; upstream.trustAd). The full rcode (OPT's extended bits included) stays in the scan. Returns
 * the same buffer when there is nothing to change.
 *
 * Records after an OPT in the middle of the additional section move up; a compression pointer among them that points
 * past the OPT is moved with them (pointers are absolute offsets, RFC 1035 §4.1.4). One that points into the OPT
 * cannot be, and then those records are cut with it: they can only be additional data, which a response may leave
 * out without being truncated (RFC 2181 §9).
 */
export function storedForm(bytes: Buffer, scan: ResponseScan, keepAd = false): { bytes: Buffer; scan: ResponseScan } {
  const flags = (scan.flags & ~(Flag.AA | (keepAd ? 0 : Flag.AD))) | Flag.RA;
  if (scan.optStart === -1 && flags === scan.flags) return { bytes, scan };
  let out: Buffer;
  if (scan.optStart === -1) {
    out = Buffer.from(bytes);
  } else {
    const { optStart, optEnd } = scan;
    const cut = optEnd - optStart;
    const after = scan.ttlOffsets.filter((at) => at > optEnd).length;
    const pointers = pointersFrom(bytes, optEnd, after);
    const movable = pointers.every((at) => !inOpt(bytes, at, optStart, optEnd));
    out = Buffer.allocUnsafe(movable ? bytes.length - cut : optStart);
    bytes.copy(out, 0, 0, optStart);
    if (movable) {
      bytes.copy(out, optStart, optEnd);
      for (const at of pointers) {
        const target = bytes.readUInt16BE(at) & 0x3fff;
        if (target >= optEnd) out.writeUInt16BE(0xc000 | (target - cut), at - cut);
      }
    }
    out.writeUInt16BE(scan.arcount - 1 - (movable ? 0 : after), 10);
  }
  out.writeUInt16BE(flags, 2);
  const rescanned = scanResponse(out);
  // The extended rcode bits lived in the OPT record just removed.
  return { bytes: out, scan: { ...rescanned, rcode: scan.rcode } };
}

function inOpt(bytes: Buffer, at: number, optStart: number, optEnd: number): boolean {
  const target = bytes.readUInt16BE(at) & 0x3fff;
  return target >= optStart && target < optEnd;
}

/**
 * Offsets of the compression pointers in the `count` records from `pos` (a scanned message): in owner names, and in
 * the RDATA names of the types that may be compressed (RFC 3597 §4: those of RFC 1035; SRV and DNAME too, since some
 * servers compress them anyway). Pointers are not followed: only the bytes of these records are looked at.
 */
function pointersFrom(bytes: Buffer, pos: number, count: number): number[] {
  const out: number[] = [];
  const name = (p: number): number => {
    while (bytes[p] !== 0 && (bytes[p] & 0xc0) !== 0xc0) p += bytes[p] + 1;
    if (bytes[p] === 0) return p + 1;
    out.push(p);
    return p + 2;
  };
  for (let i = 0; i < count; i++) {
    const at = name(pos);
    const type = bytes.readUInt16BE(at);
    const rdata = at + 10;
    switch (type) {
      case RrType.NS:
      case RrType.CNAME:
      case RrType.PTR:
      case DNAME:
        name(rdata);
        break;
      case RrType.MX:
        name(rdata + 2);
        break;
      case RrType.SRV:
        name(rdata + 6);
        break;
      case RrType.SOA:
        name(name(rdata));
        break;
    }
    pos = rdata + bytes.readUInt16BE(at + 8);
  }
  return out;
}
