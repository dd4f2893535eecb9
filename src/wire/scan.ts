import { BallastError } from '../errors.js';
import { Flag, HEADER_SIZE, qtypeLabel, RrType } from './constants.js';
import { BAD_NAME, skipNameIn } from './name.js';
import { rdataShapeOk } from './rdata.js';

/**
 * What one pass over an upstream response finds: enough to cache it and to serve it by patching
 * bytes, without ever decoding records into objects.
 */
export interface ResponseScan {
  readonly id: number;
  readonly flags: number;
  /** Full rcode: header bits plus the OPT extended-rcode bits (RFC 6891 §6.1.3). */
  readonly rcode: number;
  readonly truncated: boolean;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  /** Offset past the question section (12 when qdcount is 0). */
  readonly questionEnd: number;
  /** Offsets of the 32-bit TTL field of every record except OPT, in message order. */
  readonly ttlOffsets: number[];
  /** The TTL at each offset, with RFC 2181 §8 applied (values with the top bit set count as 0). */
  readonly ttls: number[];
  /** How many of those TTLs had the top bit set (a broken or hostile upstream: counted in a metric). */
  readonly topBitTtls: number;
  /** Answer records of the question's own type: none in a NOERROR with answers is a CNAME chain to NODATA. */
  readonly qtypeAnswers: number;
  /** TTL and MINIMUM of the first SOA in the authority section, or -1 (RFC 2308 §5). */
  readonly soaTtl: number;
  readonly soaMinimum: number;
  /** Byte range of the OPT record, or -1/-1. */
  readonly optStart: number;
  readonly optEnd: number;
}

/** Thrown for a response that cannot be read; the upstream layer counts it and keeps waiting. */
export class MalformedMessageError extends BallastError {
  override readonly code = 'BALLAST_MALFORMED_MESSAGE';
}

function fail(what: string): never {
  throw new MalformedMessageError(`malformed DNS message: ${what}`);
}

/** RFC 2181 §8: a TTL with the most significant bit set is treated as zero. */
function readTtl(buf: Buffer, at: number): number {
  const ttl = buf.readUInt32BE(at);
  return ttl > 0x7fffffff ? 0 : ttl;
}

/**
 * Scans a complete DNS response. Throws MalformedMessageError on anything out of bounds or malformed, including the
 * RDATA of a well-known type that does not have that type's shape (rdata.ts).
 */
export function scanResponse(buf: Buffer): ResponseScan {
  if (buf.length < HEADER_SIZE) fail('shorter than a header');
  // The bytes ballast rewrites or that are no name: the header and every record's fixed fields (skipNameIn). The
  // map is shared between scans and wiped after each, so a scan allocates nothing for it.
  const marked: number[] = [];
  FIXED.fill(1, 0, HEADER_SIZE);
  try {
    return scanMarked(buf, marked);
  } finally {
    FIXED.fill(0, 0, HEADER_SIZE);
    for (const at of marked) FIXED.fill(0, at, at + 10);
  }
}

/** One byte per offset a message can have: 1 where a name reached through a pointer may not go (scanResponse). */
const FIXED = new Uint8Array(65536 + 10);

function scanMarked(buf: Buffer, marked: number[]): ResponseScan {
  const fixed = FIXED;
  const skipName = (at: number, end = buf.length) => skipNameIn(buf, at, end, fixed);
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  let pos = HEADER_SIZE;
  for (let i = 0; i < qdcount; i++) {
    pos = skipName(pos);
    if (pos === BAD_NAME || pos + 4 > buf.length) fail('bad question');
    pos += 4;
  }
  const questionEnd = pos;
  const qtype = qdcount === 1 ? buf.readUInt16BE(questionEnd - 4) : -1;
  let qtypeAnswers = 0;
  const ttlOffsets: number[] = [];
  const ttls: number[] = [];
  let topBitTtls = 0;
  let soaTtl = -1;
  let soaMinimum = -1;
  let optStart = -1;
  let optEnd = -1;
  let extendedRcode = 0;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const start = pos;
    pos = skipName(pos);
    if (pos === BAD_NAME || pos + 10 > buf.length) fail(`bad record ${i}`);
    fixed.fill(1, pos, pos + 10);
    marked.push(pos);
    const type = buf.readUInt16BE(pos);
    const rdlength = buf.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    const next = rdata + rdlength;
    if (next > buf.length) fail(`record ${i} overruns the message`);
    if (type === RrType.OPT) {
      // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root. The answer path patches the OPT
      // RDLENGTH at a fixed offset from its start, which needs the one-byte root owner.
      if (optStart !== -1 || i < ancount + nscount || buf[start] !== 0) fail('misplaced, repeated or non-root OPT');
      optStart = start;
      optEnd = next;
      extendedRcode = buf[pos + 4];
    } else {
      if (!rdataShapeOk(buf, type, rdata, next, skipName))
        fail(`record ${i}: RDATA does not fit its type, ${qtypeLabel(type)}`);
      if (i < ancount && type === qtype) qtypeAnswers++;
      ttlOffsets.push(pos + 4);
      ttls.push(readTtl(buf, pos + 4));
      if (buf[pos + 4] & 0x80) topBitTtls++;
      if (type === RrType.SOA && soaTtl === -1 && i >= ancount && i < ancount + nscount) {
        // MINIMUM is the last field of the SOA RDATA (RFC 1035 §3.3.13), whose shape was checked above.
        soaTtl = readTtl(buf, pos + 4);
        soaMinimum = buf.readUInt32BE(next - 4);
      }
    }
    pos = next;
  }
  if (pos !== buf.length) fail('trailing bytes');
  return {
    id: buf.readUInt16BE(0),
    flags,
    rcode: (extendedRcode << 4) | (flags & 0xf),
    truncated: (flags & Flag.TC) !== 0,
    qdcount,
    ancount,
    nscount,
    arcount,
    questionEnd,
    ttlOffsets,
    ttls,
    topBitTtls,
    qtypeAnswers,
    soaTtl,
    soaMinimum,
    optStart,
    optEnd,
  };
}
