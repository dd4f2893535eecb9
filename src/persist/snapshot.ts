import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BallastError } from '../errors.js';

/**
 * The snapshot file (docs/design.md §7): every cache entry's key, fetch time and the upstream's bytes — nothing derived,
 * so loading re-scans each message and re-applies the current TTL rules, and a bug in an old version cannot smuggle
 * bad offsets into a new one.
 *
 *   magic "BLSTSNAP" | u16 version | u16 reserved | f64 written-at ms | u32 entries
 *   entries: u16 key length | key (latin1) | f64 stored-at ms | u16 message length | message
 *   trailer: SHA-256 of everything before it
 *
 * Entries are written least recently used first, so loading them in order rebuilds the recency order.
 */
export const SNAPSHOT_MAGIC = Buffer.from('BLSTSNAP', 'latin1');
export const SNAPSHOT_VERSION = 1;
const HEADER_SIZE = 8 + 2 + 2 + 8 + 4;
const DIGEST_SIZE = 32;

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

/** Entries encoded between yields to the event loop, so a large snapshot never stalls serving for long. */
const ENCODE_SLICE = 5000;

/** encodeSnapshot, yielding to the event loop every ENCODE_SLICE entries (the serving path stays responsive). */
export async function encodeSnapshotAsync(
  entries: Iterable<SnapshotEntry>,
  writtenAtMs: number,
  maxBytes: number,
): Promise<{ data: Buffer; count: number; complete: boolean }> {
  const all = [...entries];
  const slices: Buffer[] = [];
  let count = 0;
  let room = maxBytes;
  let complete = true;
  for (let i = 0; i < all.length; i += ENCODE_SLICE) {
    const part = encodeSnapshot(all.slice(i, i + ENCODE_SLICE), writtenAtMs, room);
    const body = part.data.subarray(HEADER_SIZE, part.data.length - DIGEST_SIZE);
    slices.push(body);
    count += part.count;
    room -= body.length;
    if (!part.complete) {
      complete = false;
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
  return { data: seal(count, writtenAtMs, slices), count, complete };
}

/** Encodes entries into one buffer; stops (and says so) before exceeding `maxBytes`. */
export function encodeSnapshot(
  entries: Iterable<SnapshotEntry>,
  writtenAtMs: number,
  maxBytes: number,
): { data: Buffer; count: number; complete: boolean } {
  const parts: Buffer[] = [];
  let size = HEADER_SIZE + DIGEST_SIZE;
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
  return { data: seal(count, writtenAtMs, parts), count, complete };
}

/** Header, encoded entries, and the SHA-256 trailer over both. */
function seal(count: number, writtenAtMs: number, entries: Buffer[]): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  SNAPSHOT_MAGIC.copy(header, 0);
  header.writeUInt16BE(SNAPSHOT_VERSION, 8);
  header.writeDoubleBE(writtenAtMs, 12);
  header.writeUInt32BE(count, 20);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Decodes and verifies a snapshot; throws SnapshotError naming what is wrong. */
export function decodeSnapshot(data: Buffer): { writtenAtMs: number; entries: SnapshotEntry[] } {
  if (data.length < SNAPSHOT_MAGIC.length || !data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new SnapshotError('foreign', 'not a ballast snapshot (bad magic)');
  }
  if (data.length < HEADER_SIZE + DIGEST_SIZE) throw new SnapshotError('truncated', 'shorter than a header');
  const version = data.readUInt16BE(8);
  if (version > SNAPSHOT_VERSION) {
    throw new SnapshotError(
      'future_version',
      `version ${version} is newer than this ballast reads (${SNAPSHOT_VERSION})`,
    );
  }
  const body = data.subarray(0, data.length - DIGEST_SIZE);
  const digest = createHash('sha256').update(body).digest();
  const count = data.readUInt32BE(20);
  if (!digest.equals(data.subarray(data.length - DIGEST_SIZE))) {
    // A short file fails the checksum too; tell the two apart by whether the entries fit.
    throw new SnapshotError(fits(body, count) ? 'corrupt' : 'truncated', 'checksum mismatch');
  }
  const entries: SnapshotEntry[] = [];
  let at = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + 2 > body.length) throw new SnapshotError('corrupt', `entry ${i} overruns the file`);
    const keyLength = body.readUInt16BE(at);
    at += 2;
    if (at + keyLength + 10 > body.length) throw new SnapshotError('corrupt', `entry ${i} overruns the file`);
    const key = body.toString('latin1', at, at + keyLength);
    at += keyLength;
    const storedAtMs = body.readDoubleBE(at);
    at += 8;
    const length = body.readUInt16BE(at);
    at += 2;
    if (at + length > body.length) throw new SnapshotError('corrupt', `entry ${i} overruns the file`);
    entries.push({ key, storedAtMs, bytes: Buffer.from(body.subarray(at, at + length)) });
    at += length;
  }
  if (at !== body.length) throw new SnapshotError('corrupt', 'trailing bytes after the last entry');
  return { writtenAtMs: data.readDoubleBE(12), entries };
}

/** Whether `count` entries can be walked inside `body` (to tell a cut-off file from a damaged one). */
function fits(body: Buffer, count: number): boolean {
  let at = HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + 2 > body.length) return false;
    at += 2 + body.readUInt16BE(at) + 8;
    if (at + 2 > body.length) return false;
    at += 2 + body.readUInt16BE(at);
  }
  return at <= body.length;
}

/** Writes atomically: a temp file beside the target, fsync, rename, fsync the directory. Asynchronous I/O, so the
 * event loop keeps answering queries while the disk works. */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(data);
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
