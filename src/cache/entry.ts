import {
  EDE_OPTION_SIZE,
  Flag,
  HEADER_SIZE,
  OPT_HEADER_SIZE,
  type Query,
  Rcode,
  synthesize,
  writeEde,
  writeOptHeader,
} from '../wire/index.js';

/**
 * The stored form of one answer (docs/design.md §6), the same in the arena and in a detached entry:
 *
 *   message without its question (stored form: no OPT, AA=0, RA=1; the 12-byte header, then the answer, authority
 *   and additional records) | TTL table: per record (OPT excluded) u16 TTL-field offset in the whole message, u32
 *   TTL clamped to the cache's bounds
 *
 * The question is left out because every reply carries the client's own question bytes there anyway (its case and
 * 0x20 bits), and the key already holds the same name: a cluster name is a third or more of a small answer. The
 * client's question has the stored one's length (same key, so the same name up to ASCII case), so putting it back
 * at offset 12 puts every record where it was, and every compression pointer (an absolute offset, RFC 1035 §4.1.4)
 * still points where it did. The records keep the upstream's own TTLs (a snapshot writes them as they came);
 * rendering copies them and patches the clamped, aged TTLs in. No record is decoded or re-encoded on a hit.
 */
export const TTL_RECORD_SIZE = 6;

/** How one client wants an entry rendered. */
export interface RenderOptions {
  /** Largest reply the client accepts: its UDP payload size, or 65535 over TCP. */
  readonly maxSize: number;
  /** Serve every record with this TTL instead of its aged TTL (RFC 8767 §4 stale answers). */
  readonly fixedTtl?: number;
  /** Attach this EDE info-code (only for clients that sent EDNS). */
  readonly ede?: number;
  /** …with this EXTRA-TEXT (ASCII; RFC 8914 §2). */
  readonly edeText?: string;
  /** The UDP payload size ballast advertises when it has to write its own OPT record. */
  readonly udpSize: number;
}

/** `fixedTtl` / `ede` of renderAnswer when there is none (positional arguments, so a hit allocates no options). */
export const NONE = -1;

/**
 * The reply for one client at `nowMs` from a stored answer at `src[at …]` (`storedLength` bytes of message without
 * its question, then `ttlCount` TTL records): its ID, its question bytes (so its case and 0x20 bits come back), its
 * RD bit, aged TTLs, and — only if it sent one (RFC 6891 §7) — ballast's own OPT record: ballast's payload size, the
 * client's DO bit, the extended rcode bits, and EDE when asked. The stored message carries no OPT, so the OPT goes
 * at the end and no record moves. A reply larger than `maxSize` becomes header + question with TC=1 (RFC 1035
 * §4.2.1), so the client retries over TCP. `questionLength` is the stored question's: a client question of any
 * other length cannot be this entry's (the key would differ) and gets SERVFAIL rather than misplaced records.
 *
 * Plain indexed stores rather than writeUInt32BE, and writeWhole's copies: a byte loop for the header and question,
 * one `set(subarray)` for the records (docs/performance.md §3).
 */
export function renderAnswer(
  src: Uint8Array,
  at: number,
  storedLength: number,
  questionLength: number,
  ttlCount: number,
  rcode: number,
  storedAtMs: number,
  q: Query,
  nowMs: number,
  maxSize: number,
  udpSize: number,
  fixedTtl: number,
  ede: number,
  edeText = '',
): Buffer {
  const edns = q.edns;
  const questionEnd = q.questionEnd;
  if (questionEnd - HEADER_SIZE !== questionLength) return synthesize(q, Rcode.SERVFAIL, { udpSize });
  const withEde = edns && ede !== NONE;
  const edeLength = withEde ? EDE_OPTION_SIZE + edeText.length : 0;
  const optLength = edns ? OPT_HEADER_SIZE + edeLength : 0;
  const messageLength = storedLength + questionLength;
  const length = messageLength + optLength;
  // An extended rcode (RFC 6891 §6.1.3: BADVERS, BADCOOKIE…) lives in the OPT record; a client that sent none can
  // get no OPT (§7), and the four header bits alone would read as another rcode — 16 as NOERROR, an empty answer.
  if (rcode > 0xf && !edns) return synthesize(q, Rcode.SERVFAIL, { udpSize });
  if (length > maxSize) return synthesize(q, rcode, { udpSize, extraFlags: Flag.TC });

  // Header, the client's question (with its ID and RD bit below), then the records.
  const out = Buffer.allocUnsafe(length);
  const raw = q.raw;
  writeWhole(out, 0, src, at, storedLength, raw, HEADER_SIZE, questionEnd);
  if (edns) {
    const end = writeOptHeader(out, messageLength, udpSize, rcode >> 4, q.dnssecOk, edeLength);
    if (withEde) writeEde(out, end, ede, edeText);
    const arcount = ((out[10] << 8) | out[11]) + 1;
    out[10] = arcount >> 8;
    out[11] = arcount & 0xff;
  }
  // The client's ID; its RD bit (RFC 1035 §4.1.1 copies RD into the response). AD only for a client that asked for
  // it with DO or AD (RFC 6840 §5.8); the cache keeps AD only when trusting the upstream's (upstream.trustAd).
  out[0] = raw[0];
  out[1] = raw[1];
  out[2] = (out[2] & ~(Flag.RD >> 8)) | (raw[2] & (Flag.RD >> 8));
  if (!q.dnssecOk && (raw[3] & Flag.AD) === 0) out[3] &= ~Flag.AD;

  // Whole seconds, rounded up: a TTL counts down as soon as any time has passed, so no downstream cache holds a record
  // past the moment its origin said it ends. A wall clock that stepped back must not make a TTL grow.
  const age = nowMs > storedAtMs ? Math.ceil((nowMs - storedAtMs) / 1000) : 0;
  let t = at + storedLength;
  for (let i = 0; i < ttlCount; i++, t += TTL_RECORD_SIZE) {
    const offset = (src[t] << 8) | src[t + 1];
    let ttl = fixedTtl;
    if (ttl === NONE) {
      const given = src[t + 2] * 0x1000000 + ((src[t + 3] << 16) | (src[t + 4] << 8) | src[t + 5]);
      ttl = given - age;
      // Rounded down, but never to 0 while the record lives: a TTL of 0 means "do not cache" (RFC 1035 §3.2.1),
      // which is not what an answer with time left says. One the upstream gave as 0 stays 0.
      if (ttl < 1) ttl = given === 0 || nowMs >= storedAtMs + given * 1000 ? 0 : 1;
    }
    out[offset] = ttl >>> 24;
    out[offset + 1] = (ttl >>> 16) & 0xff;
    out[offset + 2] = (ttl >>> 8) & 0xff;
    out[offset + 3] = ttl & 0xff;
  }
  return out;
}

/** Writes `message` (whose question ends at `questionEnd`) at `out[at]` in stored form, without its question. */
export function writeStripped(out: Uint8Array, at: number, message: Uint8Array, questionEnd: number): void {
  out.set(message.subarray(0, HEADER_SIZE), at);
  out.set(message.subarray(questionEnd), at + HEADER_SIZE);
}

/** Writes the whole message of a stored answer, its question put back from `question`; returns the end. */
export function writeWhole(
  out: Uint8Array,
  pos: number,
  src: Uint8Array,
  at: number,
  storedLength: number,
  question: Uint8Array,
  questionStart = 0,
  questionEnd = question.length,
): number {
  // The 12-byte header and the question (a name of a few dozen bytes) are copied by hand: a view of each, for
  // set(), would cost more than the copy, and the question's would be a Buffer of the client's datagram, the
  // dearest kind to make (docs/performance.md §3). The records go with set(), one view.
  for (let i = 0; i < HEADER_SIZE; i++) out[pos + i] = src[at + i];
  const questionLength = questionEnd - questionStart;
  const q = pos + HEADER_SIZE;
  for (let i = 0; i < questionLength; i++) out[q + i] = question[questionStart + i];
  out.set(src.subarray(at + HEADER_SIZE, at + storedLength), q + questionLength);
  return pos + storedLength + questionLength;
}

/**
 * One answer outside the cache (docs/design.md §6): what an upstream fetch resolves with — for every client that
 * waited on it, whether or not the cache kept it — and a stale entry held across an await. It owns a copy of its
 * bytes, so no eviction or compaction of the cache can change it. The hit path never makes one: it renders from
 * the arena by slot (DnsCache.render).
 */
export class CacheEntry {
  /** Hits since this entry was stored (for a detached entry: none; the cache counts hits by slot). */
  hits = 0;
  /** When a hot entry would be refreshed in the background (docs/design.md §5). */
  refreshAtMs = Number.POSITIVE_INFINITY;
  /** Whether a background refresh was already started in this lifetime. */
  refreshing = false;

  constructor(
    /** Message without its question, then TTL table (TTL_RECORD_SIZE per record), as described above. */
    private readonly data: Uint8Array,
    private readonly storedLength: number,
    /** The question section as the cache holds it (the upstream's, or the key's lower-cased name). */
    private readonly question: Uint8Array,
    /** Lifetime in seconds: the smallest clamped record TTL, or the RFC 2308 negative TTL. */
    readonly ttlSeconds: number,
    readonly storedAtMs: number,
    readonly rcode: number,
    readonly negative: boolean,
  ) {}

  get expiresAtMs(): number {
    return this.storedAtMs + this.ttlSeconds * 1000;
  }

  /** The whole stored message (no OPT), its question put back: a copy. */
  get bytes(): Buffer {
    const out = Buffer.allocUnsafe(this.storedLength + this.question.length);
    writeWhole(out, 0, this.data, 0, this.storedLength, this.question);
    return out;
  }

  private get ttlCount(): number {
    return (this.data.length - this.storedLength) / TTL_RECORD_SIZE;
  }

  render(q: Query, nowMs: number, opts: RenderOptions): Buffer {
    return renderAnswer(
      this.data,
      0,
      this.storedLength,
      this.question.length,
      this.ttlCount,
      this.rcode,
      this.storedAtMs,
      q,
      nowMs,
      opts.maxSize,
      opts.udpSize,
      opts.fixedTtl ?? NONE,
      opts.ede ?? NONE,
      opts.edeText,
    );
  }
}
