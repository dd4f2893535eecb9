import { Flag, HEADER_SIZE, RrType } from './constants.js';
import { OPT_HEADER_SIZE, writeOptHeader } from './edns.js';
import type { Query } from './query.js';

/** QTYPE ANY, "*" (RFC 1035 §3.2.3). */
export const QTYPE_ANY = 255;

/**
 * TTL of the synthesized HINFO. RFC 8482 §4.2 leaves it to the operator "as being appropriate for the anticipated
 * frequency of ANY queries"; an hour keeps clients that cache it from asking again soon.
 */
export const ANY_TTL_SECONDS = 3600;

/** HINFO RDATA: CPU "RFC8482", OS the empty string (RFC 8482 §4.2). */
const HINFO_RDATA = Buffer.from([7, ...Buffer.from('RFC8482', 'latin1'), 0]);

/** Owner (a pointer to the question name), TYPE, CLASS, TTL, RDLENGTH, RDATA. */
const RECORD_SIZE = 2 + 10 + HINFO_RDATA.length;

/**
 * The RFC 8482 §4.2 answer to an ANY query: one HINFO record for the qname with CPU "RFC8482" and an empty OS, written
 * by ballast itself — never forwarded, so ANY cannot be used to make ballast or its upstreams send large answers (the
 * amplification RFC 8482 §1 describes). The client's ID, question, RD and CD come back; RA is set; the record's class
 * is the question's, or IN for QCLASS ANY/NONE, which no record can carry. An EDNS client gets ballast's OPT with its
 * DO bit (the HINFO is unsigned: RFC 8482 §4.2 allows that for a synthesized answer). At most 12 + 259 + 21 + 11 bytes,
 * it fits any client's payload size.
 */
export function synthesizeAny(q: Query, udpSize: number): Buffer {
  const questionLength = q.questionEnd - HEADER_SIZE;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + RECORD_SIZE + (q.edns ? OPT_HEADER_SIZE : 0));
  q.raw.copy(out, 0, 0, 2);
  out.writeUInt16BE(Flag.QR | (q.flags & (Flag.RD | Flag.CD)) | Flag.RA, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(q.edns ? 1 : 0, 10);
  q.raw.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  let at = q.questionEnd;
  out.writeUInt16BE(0xc000 | HEADER_SIZE, at); // the question's name (RFC 1035 §4.1.4)
  out.writeUInt16BE(RrType.HINFO, at + 2);
  out.writeUInt16BE(q.qclass === 255 || q.qclass === 254 ? 1 : q.qclass, at + 4);
  out.writeUInt32BE(ANY_TTL_SECONDS, at + 6);
  out.writeUInt16BE(HINFO_RDATA.length, at + 10);
  HINFO_RDATA.copy(out, at + 12);
  at += RECORD_SIZE;
  if (q.edns) writeOptHeader(out, at, udpSize, 0, q.dnssecOk, 0);
  return out;
}
