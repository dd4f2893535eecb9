import { CLASSIC_UDP_SIZE, EDNS_DO, Flag, HEADER_SIZE, Opcode, Rcode, RrType } from './constants.js';
import { BAD_NAME, lowerName, skipName, skipUncompressedName } from './name.js';

/** A client query, read once at the listener (docs/design.md §6). Holds offsets into `raw`, never decoded records. */
export interface Query {
  readonly raw: Buffer;
  readonly id: number;
  /** Header bytes 2–3 as one word. */
  readonly flags: number;
  readonly qtype: number;
  readonly qclass: number;
  /** Offset just past the question section (qname, qtype, qclass). */
  readonly questionEnd: number;
  /** Cache key (docs/design.md §4): lower-cased qname, qtype, qclass, DO and CD. */
  readonly key: string;
  /** The lower-cased wire-format qname, as a latin1 string; also the zone-match input. */
  readonly qname: string;
  readonly edns: boolean;
  /** The client's UDP payload size: 512 without EDNS, and never below 512 (RFC 6891 §6.2.5). */
  readonly udpSize: number;
  readonly dnssecOk: boolean;
  readonly checkingDisabled: boolean;
  /** RD: the client asks for recursion. Without it a query is answered from the cache only (RFC 1034 §4.3.1). */
  readonly recursionDesired: boolean;
  /** The query carries a TSIG or SIG(0) record (RFC 8945, RFC 2931): ballast verifies no signatures. */
  readonly signed: boolean;
}

/** Why a datagram was not accepted as a query; `reply` says whether the client is owed an error response. */
export interface QueryRejection {
  readonly reason: 'short' | 'response' | 'opcode' | 'qdcount' | 'question' | 'long_name' | 'malformed' | 'badvers';
  /** The rcode to answer with, or undefined to drop silently. */
  readonly rcode: number | undefined;
  /** Offset past the question when it could be read (so the error reply can echo it), else 0. */
  readonly questionEnd: number;
  readonly edns: boolean;
}

export type ParseResult = Query | QueryRejection;

export function isRejection(r: ParseResult): r is QueryRejection {
  return (r as QueryRejection).reason !== undefined;
}

const drop = (reason: QueryRejection['reason']): QueryRejection => ({
  reason,
  rcode: undefined,
  questionEnd: 0,
  edns: false,
});

const reject = (
  reason: QueryRejection['reason'],
  rcode: number,
  questionEnd: number,
  edns = false,
): QueryRejection => ({
  reason,
  rcode,
  questionEnd,
  edns,
});

/**
 * Reads a client query: header, exactly one question, and the OPT record if any. Answer and authority records (none
 * in a normal query) are skipped, not trusted. Malformed but readable → FORMERR; other opcodes → NOTIMP; responses
 * and unreadable datagrams → dropped (docs/design.md §6), since answering garbage only helps reflection attacks.
 */
export function parseQuery(raw: Buffer): ParseResult {
  if (raw.length < HEADER_SIZE) return drop('short');
  const flags = raw.readUInt16BE(2);
  if (flags & Flag.QR) return drop('response');
  const qdcount = raw.readUInt16BE(4);
  const opcode = (flags >> 11) & 0xf;
  // The question section: the end of the first question (to echo it), and where the other records start.
  let questionEnd = 0;
  let recordsStart = HEADER_SIZE;
  for (let i = 0; i < qdcount && recordsStart !== BAD_NAME; i++) {
    const nameEnd = skipUncompressedName(raw, recordsStart);
    recordsStart = nameEnd === BAD_NAME || nameEnd + 4 > raw.length ? BAD_NAME : nameEnd + 4;
    if (i === 0 && recordsStart !== BAD_NAME) questionEnd = recordsStart;
  }
  // The OPT record, read even for a query refused below, so that an EDNS client's error reply carries one too
  // (RFC 6891 §7).
  const extra = recordsStart === BAD_NAME ? UNREADABLE : readRecords(raw, recordsStart);
  const edns = extra.edns;
  if (opcode !== Opcode.QUERY) return reject('opcode', Rcode.NOTIMP, qdcount === 1 ? questionEnd : 0, edns);
  if (qdcount !== 1) return reject('qdcount', Rcode.FORMERR, 0, edns);
  if (questionEnd === 0) {
    // A name of well-formed labels that is longer than 255 octets is a format error (RFC 1035 §2.3.4), answered as
    // one, without echoing it; anything else unreadable is dropped.
    const overlong =
      skipUncompressedName(raw, HEADER_SIZE) === BAD_NAME &&
      skipUncompressedName(raw, HEADER_SIZE, raw.length, Infinity) !== BAD_NAME;
    return overlong ? reject('long_name', Rcode.FORMERR, 0, edns) : drop('question');
  }
  if (extra.malformed) return reject('malformed', Rcode.FORMERR, questionEnd, edns);
  // RFC 6891 §6.1.3: a version we do not implement gets BADVERS.
  if (extra.version !== 0) return reject('badvers', Rcode.BADVERS, questionEnd, true);

  const qtype = raw.readUInt16BE(questionEnd - 4);
  const qclass = raw.readUInt16BE(questionEnd - 2);
  return new ParsedQuery(
    raw,
    flags,
    qtype,
    qclass,
    questionEnd,
    edns,
    extra.udpSize,
    extra.dnssecOk,
    (flags & Flag.CD) !== 0,
    (flags & Flag.RD) !== 0,
    extra.signed,
  );
}

/**
 * A parsed query. `qname` and `key` are strings, built on first use: a cache hit never reads them (the cache finds
 * its entry by the question's bytes, docs/performance.md §3), so a hit builds no string at all; a miss builds each
 * once. Every other field is read when parsing anyway.
 */
class ParsedQuery implements Query {
  private name: string | undefined;
  private cacheKeyString: string | undefined;

  constructor(
    readonly raw: Buffer,
    readonly flags: number,
    readonly qtype: number,
    readonly qclass: number,
    readonly questionEnd: number,
    readonly edns: boolean,
    readonly udpSize: number,
    readonly dnssecOk: boolean,
    readonly checkingDisabled: boolean,
    readonly recursionDesired: boolean,
    readonly signed: boolean,
  ) {}

  get id(): number {
    return (this.raw[0] << 8) | this.raw[1];
  }

  get qname(): string {
    this.name ??= lowerName(this.raw, HEADER_SIZE, this.questionEnd - 4);
    return this.name;
  }

  get key(): string {
    this.cacheKeyString ??= cacheKey(this.qname, this.qtype, this.qclass, this.dnssecOk, this.checkingDisabled);
    return this.cacheKeyString;
  }
}

interface Records {
  /** Something did not fit; `edns` then says whether an OPT had been read before it. */
  readonly malformed: boolean;
  readonly edns: boolean;
  readonly udpSize: number;
  readonly dnssecOk: boolean;
  readonly version: number;
  readonly signed: boolean;
}

const UNREADABLE: Records = {
  malformed: true,
  edns: false,
  udpSize: CLASSIC_UDP_SIZE,
  dnssecOk: false,
  version: 0,
  signed: false,
};

/**
 * The answer, authority and additional records of a query, skipped (not trusted) except for the OPT record and for
 * telling a signed query (TSIG, SIG(0)). Every record must fit; bytes after the last one are ignored, as BIND and
 * Unbound ignore them (a client's padding or a middlebox's, nothing ballast reads).
 */
function readRecords(raw: Buffer, start: number): Records {
  const ancount = raw.readUInt16BE(6);
  const nscount = raw.readUInt16BE(8);
  const total = ancount + nscount + raw.readUInt16BE(10);
  let pos = start;
  let edns = false;
  let udpSize = CLASSIC_UDP_SIZE;
  let dnssecOk = false;
  let version = 0;
  let signed = false;
  const malformed = (): Records => ({ ...UNREADABLE, edns });
  for (let i = 0; i < total; i++) {
    const nameStart = pos;
    pos = skipName(raw, pos);
    if (pos === BAD_NAME || pos + 10 > raw.length) return malformed();
    const type = raw.readUInt16BE(pos);
    const rdlength = raw.readUInt16BE(pos + 8);
    if (pos + 10 + rdlength > raw.length) return malformed();
    if (type === RrType.OPT) {
      // RFC 6891 §6.1.1: one OPT, owner is the root, and only in the additional section.
      if (edns || i < ancount + nscount || raw[nameStart] !== 0) return malformed();
      edns = true;
      udpSize = Math.max(raw.readUInt16BE(pos + 2), CLASSIC_UDP_SIZE);
      version = raw[pos + 5];
      dnssecOk = (raw.readUInt16BE(pos + 6) & EDNS_DO) !== 0;
    } else if (type === RrType.TSIG || type === RrType.SIG) {
      signed = true;
    }
    pos += 10 + rdlength;
  }
  return { malformed: false, edns, udpSize, dnssecOk, version, signed };
}

/** docs/design.md §4: the DO and CD bits change what an upstream returns, so they are part of the key. */
export function cacheKey(qname: string, qtype: number, qclass: number, dnssecOk: boolean, cd: boolean): string {
  return `${qname}/${qtype}/${qclass}/${dnssecOk ? 1 : 0}${cd ? 1 : 0}`;
}
