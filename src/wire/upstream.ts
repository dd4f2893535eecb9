import { Flag, HEADER_SIZE } from './constants.js';
import { OPT_HEADER_SIZE, writeOptHeader } from './edns.js';
import type { Query } from './query.js';

/**
 * The query ballast sends upstream for a cache key: RD=1, the client's CD bit, AD when ballast trusts the
 * upstream's AD (RFC 6840 §5.7: it asks for AD in the answer), its question, and an OPT record of ballast's own with
 * the key's DO bit. Client EDNS options (cookies, padding) are hop-by-hop (RFC 6891 §6.1.1) and
 * stay behind, so an answer depends only on the cache key and can be shared by every client with that key. The ID
 * is left 0: each attempt writes a fresh random one (RFC 5452 §9.2).
 */
export function upstreamQuery(q: Query, udpSize: number, ad = false): Buffer {
  const questionLength = q.questionEnd - HEADER_SIZE;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + OPT_HEADER_SIZE);
  out.writeUInt16BE(0, 0);
  out.writeUInt16BE(Flag.RD | (q.checkingDisabled ? Flag.CD : 0) | (ad ? Flag.AD : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(1, 10);
  q.raw.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  writeOptHeader(out, q.questionEnd, udpSize, 0, q.dnssecOk, 0);
  return out;
}

/** `query` (ballast's own: the question, then its OPT record) without the OPT: for a server without EDNS. */
export function withoutEdns(query: Buffer, questionEnd: number): Buffer {
  const out = Buffer.from(query.subarray(0, questionEnd));
  out.writeUInt16BE(0, 10);
  return out;
}

/**
 * What an upstream would send to refuse or fail `query`: the same message with QR set and `rcode`, keeping the ID,
 * opcode, RD and CD. Used where a fault must look exactly like a server's answer (chaos drills, test servers).
 */
export function errorResponseTo(query: Buffer, rcode: number): Buffer {
  const out = Buffer.from(query);
  const keep = Flag.RD | Flag.CD | 0x7800; // opcode bits
  out.writeUInt16BE((query.readUInt16BE(2) & keep) | Flag.QR | Flag.RA | (rcode & 0xf), 2);
  return out;
}

/**
 * What an authoritative server answers when it has no such name (`rcode` NXDOMAIN) or no records of the type asked
 * (NOERROR, NODATA) for `query`: the question, and in the authority section the SOA of `zone` (wire form) with TTL
 * and MINIMUM `ttl`, so the answer is cached for that long (RFC 2308 §5), as CoreDNS answers for cluster.local (TTL
 * 5). Used where a wrong negative must look exactly like one (chaos drills).
 */
export function negativeResponseTo(
  query: Buffer,
  questionEnd: number,
  rcode: number,
  zone: Buffer,
  ttl: number,
): Buffer {
  const rdataLength = zone.length * 2 + 20;
  const out = Buffer.alloc(questionEnd + zone.length + 10 + rdataLength);
  query.copy(out, 0, 0, questionEnd);
  const keep = Flag.RD | Flag.CD | 0x7800; // opcode bits
  out.writeUInt16BE((query.readUInt16BE(2) & keep) | Flag.QR | Flag.AA | Flag.RA | (rcode & 0xf), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(1, 6); // ANCOUNT 0, NSCOUNT 1
  out.writeUInt16BE(0, 10);
  let at = questionEnd + zone.copy(out, questionEnd);
  out.writeUInt16BE(6, at); // SOA
  out.writeUInt16BE(1, at + 2); // IN
  out.writeUInt32BE(ttl, at + 4);
  out.writeUInt16BE(rdataLength, at + 8);
  at += 10;
  at += zone.copy(out, at); // MNAME
  at += zone.copy(out, at); // RNAME
  for (const v of [1, 7200, 1800, 86_400, ttl]) {
    out.writeUInt32BE(v, at); // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM
    at += 4;
  }
  return out;
}

/**
 * A query of ballast's own for `name` (wire form) and `qtype`, with ballast's OPT and ID 0: the SOA of a zone apex that
 * a health probe asks before any name of the zone has been answered (every server that serves a zone can answer its
 * SOA), or the random name of a loop check.
 */
export function ownQuery(name: Buffer, qtype: number, udpSize: number): { query: Buffer; questionEnd: number } {
  const questionEnd = HEADER_SIZE + name.length + 4;
  const out = Buffer.alloc(questionEnd + OPT_HEADER_SIZE);
  out.writeUInt16BE(Flag.RD, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  name.copy(out, HEADER_SIZE);
  out.writeUInt16BE(qtype, questionEnd - 4);
  out.writeUInt16BE(1, questionEnd - 2);
  writeOptHeader(out, questionEnd, udpSize, 0, false, 0);
  return { query: out, questionEnd };
}
