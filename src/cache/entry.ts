import {
  EDE_OPTION_SIZE,
  Flag,
  HEADER_SIZE,
  OPT_HEADER_SIZE,
  type Query,
  Rcode,
  type ResponseScan,
  synthesize,
  writeEde,
  writeOptHeader,
} from '../wire/index.js';

/**
 * Heap and allocator memory of one entry beyond its message bytes (the entry, the buffer and its backing store, the
 * key, store bookkeeping), measured at about 1.1 KB (heap plus external memory per entry, 50,000 entries). The
 * process's RSS per entry is about twice what is counted, since V8 keeps headroom; docs/configuration.md says so.
 */
const ENTRY_OVERHEAD_BYTES = 1100;

/** How one client wants an entry rendered. */
export interface RenderOptions {
  /** Largest reply the client accepts: its UDP payload size, or 65535 over TCP. */
  readonly maxSize: number;
  /** Serve every record with this TTL instead of its aged TTL (RFC 8767 §4 stale answers). */
  readonly fixedTtl?: number;
  /** Attach this EDE info-code (only for clients that sent EDNS). */
  readonly ede?: number;
  /** The UDP payload size ballast advertises when it has to write its own OPT record. */
  readonly udpSize: number;
}

/**
 * One cached upstream response (docs/design.md §6): the upstream's bytes in their stored form, the offset of every TTL field (OPT excluded)
 * and each record's TTL already clamped to the cache bounds. Rendering copies the bytes and patches them; no record
 * is decoded or re-encoded on a hit.
 */
export class CacheEntry {
  /** Hits since this entry was stored: two or more make it eligible for a background refresh (CoreDNS prefetch). */
  hits = 0;
  /** When a hot entry is refreshed in the background: a per-entry random point in its lifetime (set by the cache). */
  refreshAtMs = Number.POSITIVE_INFINITY;
  /** Whether a background refresh was already started in this lifetime (at most one per entry). */
  refreshing = false;

  constructor(
    readonly bytes: Buffer,
    /**
     * Each record's TTL field offset and its clamped TTL, interleaved: [offset, ttl, offset, ttl, …]. A plain array
     * of small integers, not two typed arrays: an entry is usually 1–3 records, and each typed array would cost an
     * object, an ArrayBuffer and a separate allocation — most of an entry's memory.
     */
    private readonly ttlData: number[],
    /** Lifetime in seconds: the smallest clamped record TTL, or the RFC 2308 negative TTL. */
    readonly ttlSeconds: number,
    readonly storedAtMs: number,
    readonly rcode: number,
    readonly negative: boolean,
  ) {}

  /** Builds an entry from a scanned response; `ttls` are the per-record TTLs after clamping. */
  static fromScan(
    bytes: Buffer,
    scan: ResponseScan,
    ttls: number[],
    ttlSeconds: number,
    nowMs: number,
    negative: boolean,
  ): CacheEntry {
    return new CacheEntry(
      bytes,
      scan.ttlOffsets.flatMap((offset, i) => [offset, ttls[i]]),
      ttlSeconds,
      nowMs,
      scan.rcode,
      negative,
    );
  }

  get expiresAtMs(): number {
    return this.storedAtMs + this.ttlSeconds * 1000;
  }

  /** Memory held by this entry, for the byte bound: the message, its TTL table and the objects around them. */
  get size(): number {
    return this.bytes.length + this.ttlData.length * 4 + ENTRY_OVERHEAD_BYTES;
  }

  /**
   * The reply for one client at `nowMs`: its ID, its question bytes (so its case and 0x20 bits come back), its RD
   * bit, aged TTLs, and — only if it sent one (RFC 6891 §7) — ballast's own OPT record: ballast's payload size, the
   * client's DO bit, the extended rcode bits, and EDE when asked. The stored bytes carry no OPT (storedForm), so the
   * OPT goes at the end and no record moves. A UDP reply larger than `maxSize` becomes header + question with TC=1
   * (RFC 1035 §4.2.1), so the client retries over TCP.
   */
  render(q: Query, nowMs: number, opts: RenderOptions): Buffer {
    const src = this.bytes;
    const withEde = q.edns && opts.ede !== undefined;
    const optLength = q.edns ? OPT_HEADER_SIZE + (withEde ? EDE_OPTION_SIZE : 0) : 0;
    const length = src.length + optLength;
    // An extended rcode (RFC 6891 §6.1.3: BADVERS, BADCOOKIE…) lives in the OPT record; a client that sent none can
    // get no OPT (§7), and the four header bits alone would read as another rcode — 16 as NOERROR, an empty answer.
    if (this.rcode > 0xf && !q.edns) return synthesize(q, Rcode.SERVFAIL, { udpSize: opts.udpSize });
    if (length > opts.maxSize) return synthesize(q, this.rcode, { udpSize: opts.udpSize, extraFlags: Flag.TC });

    const out = Buffer.allocUnsafe(length);
    src.copy(out, 0);
    if (q.edns) {
      const at = writeOptHeader(
        out,
        src.length,
        opts.udpSize,
        this.rcode >> 4,
        q.dnssecOk,
        withEde ? EDE_OPTION_SIZE : 0,
      );
      if (withEde) writeEde(out, at, opts.ede!);
      out.writeUInt16BE(src.readUInt16BE(10) + 1, 10);
    }
    // The client's ID and question bytes; its RD bit (RFC 1035 §4.1.1 copies RD into the response).
    q.raw.copy(out, 0, 0, 2);
    q.raw.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
    out[2] = (out[2] & ~(Flag.RD >> 8)) | (q.raw[2] & (Flag.RD >> 8));

    const data = this.ttlData;
    // A wall clock that stepped back must not make a TTL grow past what the upstream gave.
    const age = Math.max(Math.floor((nowMs - this.storedAtMs) / 1000), 0);
    for (let i = 0; i < data.length; i += 2) {
      out.writeUInt32BE(opts.fixedTtl ?? Math.max(data[i + 1] - age, 0), data[i]);
    }
    return out;
  }
}
