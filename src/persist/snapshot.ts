import { readFileSync, statSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { type DnsCache, recordLength, recordOrder, restoreRecord, stillHeld, writeRecord } from '../cache/index.js';
import { BallastError } from '../errors.js';

/**
 * The snapshot file (docs/design.md §7): every cache entry's key, fetch time and the upstream's bytes — nothing
 * derived, so loading re-scans each message and re-applies the current TTL rules, and a bug in an old version cannot
 * smuggle bad offsets into a new one.
 *
 *   v3 (written): magic "BLSTSNAP" | u16 version 3 | u16 reserved | f64 written-at ms
 *                 entries | u32 entry count | u32 CRC-32 of everything before it
 *   v2 (read):    as v3, with a SHA-256 digest (32 bytes) in place of the CRC-32
 *   v1 (read):    magic "BLSTSNAP" | u16 version 1 | u16 reserved | f64 written-at ms | u32 entry count
 *                 entries | SHA-256 of everything before it
 *   entry:        u16 key length | key (latin1) | f64 stored-at ms | u16 message length | message
 *
 * Entries are written least recently used first, so loading them in order rebuilds the recency order. Version 2
 * moved the count behind the entries: the writer streams entries from the cache's arena to the file a slice at a
 * time and knows the count only at the end, so a write holds one slice in memory, not a copy of the cache
 * (docs/performance.md §1). Version 3 only changes the checksum. It guards against accidental damage (the file is
 * replaced atomically, and anyone who can write it could recompute any unkeyed digest), which CRC-32 detects as well
 * as SHA-256 does, without loading node:crypto into every node's ballast (docs/performance.md §2). Version 1 and 2
 * files, written by earlier builds, are still read; only they load node:crypto, once.
 */
export const SNAPSHOT_MAGIC = Buffer.from('BLSTSNAP', 'latin1');
export const SNAPSHOT_VERSION = 3;
const V1_HEADER_SIZE = 8 + 2 + 2 + 8 + 4;
const HEADER_SIZE = 8 + 2 + 2 + 8;
const COUNT_SIZE = 4;
const CHECKSUM_SIZE = 4;
/** The SHA-256 digest that ends a version 1 or 2 file. */
const LEGACY_DIGEST_SIZE = 32;
/** Bytes encoded between writes (and so between returns to the event loop). */
const SLICE_BYTES = 256 * 1024;

export interface SnapshotEntry {
  readonly key: string;
  readonly storedAtMs: number;
  readonly bytes: Buffer;
}

/** Why a snapshot was not loaded; also the `result` label of ballast_snapshot_loads_total. */
export type SnapshotProblem = 'missing' | 'oversized' | 'foreign' | 'future_version' | 'truncated' | 'corrupt';

export class SnapshotError extends BallastError {
  override readonly code = 'BALLAST_SNAPSHOT_INVALID';
  constructor(
    readonly problem: SnapshotProblem,
    message: string,
  ) {
    super(message);
  }
}

function header(writtenAtMs: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  SNAPSHOT_MAGIC.copy(h, 0);
  h.writeUInt16BE(SNAPSHOT_VERSION, 8);
  h.writeDoubleBE(writtenAtMs, 12);
  return h;
}

/** A running CRC-32 (the ISO-HDLC polynomial of gzip and PNG) over the bytes of a file being written. */
class Checksum {
  private value = 0;
  update(bytes: Uint8Array): void {
    this.value = crc32(bytes, this.value);
  }
  get digest(): number {
    return this.value >>> 0;
  }
}

function trailer(count: number, sum: Checksum): Buffer {
  const t = Buffer.alloc(COUNT_SIZE + CHECKSUM_SIZE);
  t.writeUInt32BE(count, 0);
  sum.update(t.subarray(0, COUNT_SIZE));
  t.writeUInt32BE(sum.digest, COUNT_SIZE);
  return t;
}

/**
 * Writes the cache's snapshot to `path` atomically (a temp file beside it, fsync, rename, fsync the directory),
 * streaming from the arena: each slice of entries is encoded into one reused buffer and written before the next is
 * encoded, and the event loop runs while the disk works. Entries evicted or replaced while the write is under way
 * are left out (their slots' generations changed). Stops before exceeding `maxBytes` and says so.
 */
export async function writeSnapshot(
  cache: DnsCache,
  path: string,
  writtenAtMs: number,
  maxBytes: number,
): Promise<{ bytes: number; count: number; complete: boolean }> {
  const order = recordOrder(cache);
  const sum = new Checksum();
  const slice = Buffer.allocUnsafe(SLICE_BYTES);
  return writeFileAtomic(path, async (file) => {
    const head = header(writtenAtMs);
    sum.update(head);
    await file.write(head);
    let size = HEADER_SIZE + COUNT_SIZE + CHECKSUM_SIZE;
    let count = 0;
    let complete = true;
    let i = 0;
    while (i < order.slots.length && complete) {
      let used = 0;
      for (; i < order.slots.length; i++) {
        if (!stillHeld(cache, order, i)) continue;
        const slot = order.slots[i];
        const length = recordLength(cache, slot);
        if (size + length > maxBytes) {
          complete = false;
          break;
        }
        // A record is at most 2 + 266 + 8 + 2 + 65535 bytes: one that does not fit an empty slice gets its own.
        if (used + length > SLICE_BYTES) {
          if (used > 0) break;
          const own = Buffer.allocUnsafe(length);
          writeRecord(cache, slot, own, 0);
          sum.update(own);
          await file.write(own);
          size += length;
          count++;
          i++;
          break;
        }
        used = writeRecord(cache, slot, slice, used);
        size += length;
        count++;
      }
      if (used > 0) {
        const part = slice.subarray(0, used);
        sum.update(part);
        await file.write(part);
      }
    }
    await file.write(trailer(count, sum));
    return { bytes: size, count, complete };
  });
}

/** Encodes entries into one buffer (this version); stops, and says so, before exceeding `maxBytes`. For tests. */
export function encodeSnapshot(
  entries: Iterable<SnapshotEntry>,
  writtenAtMs: number,
  maxBytes: number,
): { data: Buffer; count: number; complete: boolean } {
  const parts: Buffer[] = [header(writtenAtMs)];
  let size = HEADER_SIZE + COUNT_SIZE + CHECKSUM_SIZE;
  let count = 0;
  let complete = true;
  for (const e of entries) {
    const key = Buffer.from(e.key, 'latin1');
    if (key.length > 0xffff || e.bytes.length > 0xffff) continue;
    const part = Buffer.allocUnsafe(2 + key.length + 8 + 2 + e.bytes.length);
    if (size + part.length > maxBytes) {
      complete = false;
      break;
    }
    let at = part.writeUInt16BE(key.length, 0);
    at += key.copy(part, at);
    at = part.writeDoubleBE(e.storedAtMs, at);
    at = part.writeUInt16BE(e.bytes.length, at);
    e.bytes.copy(part, at);
    parts.push(part);
    size += part.length;
    count++;
  }
  const sum = new Checksum();
  for (const p of parts) sum.update(p);
  parts.push(trailer(count, sum));
  return { data: Buffer.concat(parts), count, complete };
}

/** A verified snapshot: where its entries are in `body`, and how many there are. */
interface Verified {
  readonly body: Buffer;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly writtenAtMs: number;
}

/** Whether `body` ends the file `data` with the checksum its version uses. */
function checksumMatches(version: number, data: Buffer, body: Buffer): boolean {
  if (version >= 3) return crc32(body) === data.readUInt32BE(body.length);
  // Versions 1 and 2: the only use of node:crypto left, loaded on the first old file (once, after an upgrade).
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(body).digest().equals(data.subarray(body.length));
}

/** Checks magic, version and checksum (v1, v2 or v3); throws SnapshotError naming what is wrong. */
function verify(data: Buffer): Verified {
  if (data.length < SNAPSHOT_MAGIC.length || !data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new SnapshotError('foreign', 'not a ballast snapshot (bad magic)');
  }
  if (data.length < V1_HEADER_SIZE + CHECKSUM_SIZE) throw new SnapshotError('truncated', 'shorter than a header');
  const version = data.readUInt16BE(8);
  const digestSize = version >= 3 ? CHECKSUM_SIZE : LEGACY_DIGEST_SIZE;
  if (data.length < V1_HEADER_SIZE + digestSize) throw new SnapshotError('truncated', 'shorter than a header');
  if (version > SNAPSHOT_VERSION) {
    throw new SnapshotError(
      'future_version',
      `version ${version} is newer than this ballast reads (${SNAPSHOT_VERSION})`,
    );
  }
  const body = data.subarray(0, data.length - digestSize);
  const v1 = version <= 1;
  const start = v1 ? V1_HEADER_SIZE : HEADER_SIZE;
  const end = v1 ? body.length : body.length - COUNT_SIZE;
  const count = v1 ? data.readUInt32BE(20) : body.readUInt32BE(end);
  if (!checksumMatches(version, data, body)) {
    // A short file fails the checksum too; tell the two apart by whether the entries walk cleanly to the end.
    throw new SnapshotError(walk(body, start, end, count) ? 'corrupt' : 'truncated', 'checksum mismatch');
  }
  return { body, start, end, count, writtenAtMs: data.readDoubleBE(12) };
}

/**
 * Calls `each(keyAt, keyLength, storedAtMs, messageAt, messageLength)` for the `count` entries in body[start, end);
 * returns whether they fill it exactly. Without `each` it only checks (a cut-off file overruns its end).
 */
function walk(
  body: Buffer,
  start: number,
  end: number,
  count: number,
  each?: (keyAt: number, keyLength: number, storedAtMs: number, at: number, length: number) => void,
): boolean {
  let at = start;
  for (let i = 0; i < count; i++) {
    if (at + 2 > end) return false;
    const keyLength = body.readUInt16BE(at);
    const keyAt = at + 2;
    at = keyAt + keyLength;
    if (at + 10 > end) return false;
    const storedAtMs = body.readDoubleBE(at);
    const length = body.readUInt16BE(at + 8);
    at += 10;
    if (at + length > end) return false;
    each?.(keyAt, keyLength, storedAtMs, at, length);
    at += length;
  }
  return at === end;
}

/** Decodes and verifies a snapshot into entries (copies; for tests and tools). */
export function decodeSnapshot(data: Buffer): { writtenAtMs: number; entries: SnapshotEntry[] } {
  const v = verify(data);
  const entries: SnapshotEntry[] = [];
  const ok = walk(v.body, v.start, v.end, v.count, (keyAt, keyLength, storedAtMs, at, length) => {
    const key = v.body.toString('latin1', keyAt, keyAt + keyLength);
    entries.push({ key, storedAtMs, bytes: Buffer.from(v.body.subarray(at, at + length)) });
  });
  if (!ok) throw new SnapshotError('corrupt', 'the entries do not fill the file');
  return { writtenAtMs: v.writtenAtMs, entries };
}

/**
 * Verifies a snapshot and restores its entries into `cache` straight from the file's bytes (no key string or entry
 * object per entry). Returns how many were restored and how many were in the file.
 */
export function loadSnapshot(
  cache: DnsCache,
  data: Buffer,
  nowMs: number,
): { restored: number; total: number; writtenAtMs: number } {
  const v = verify(data);
  if (!walk(v.body, v.start, v.end, v.count)) throw new SnapshotError('corrupt', 'the entries do not fill the file');
  let restored = 0;
  cache.reserve(cache.entries + v.count);
  walk(v.body, v.start, v.end, v.count, (keyAt, keyLength, storedAtMs, at, length) => {
    if (restoreRecord(cache, v.body, keyAt, keyLength, v.body.subarray(at, at + length), storedAtMs, nowMs)) restored++;
  });
  return { restored, total: v.count, writtenAtMs: v.writtenAtMs };
}

/**
 * Writes `path` atomically: `fill` writes a temp file beside it, which is synced and renamed over the old one, and
 * the directory is synced, so a crash mid-write leaves the previous snapshot whole. Asynchronous I/O throughout.
 */
export async function writeFileAtomic<T>(path: string, fill: (file: FileHandle) => Promise<T>): Promise<T> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', 0o600);
  let result: T;
  try {
    result = await fill(file);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return result;
}

/** Reads a snapshot file, refusing one larger than `maxBytes` before reading it. */
export function readSnapshotFile(path: string, maxBytes: number): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotError('missing', `no snapshot at ${path}`);
    throw err;
  }
  if (size > maxBytes) throw new SnapshotError('oversized', `${size} bytes is over persistence.maxBytes (${maxBytes})`);
  return readFileSync(path);
}
