// Snapshots (docs/design.md §7): round trip with true ages, and every kind of bad file reported and ignored.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DnsCache } from '../../src/cache/index.js';
import { createRegistry } from '../../src/observe/index.js';
import {
  createPersistMetrics,
  decodeSnapshot,
  encodeSnapshot,
  loadSnapshot,
  Persister,
  type SnapshotEntry,
  SnapshotError,
} from '../../src/persist/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { scanResponse } from '../../src/wire/index.js';
import { hooks, OPEN, query, T0 } from '../cache/helpers.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { query as dnsQuery, header, Packet } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { fixture } from '../wire/fixtures.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ballast-snap-'));

/** A cache holding the fixtures a-basic (TTL 5), mx (TTL 300) and nxdomain-soa, stored at T0. */
function filledCache() {
  const cache = new DnsCache({ ...OPEN }, hooks());
  const keys: Record<string, string> = {};
  for (const name of ['a-basic', 'mx', 'nxdomain-soa']) {
    const { query: q, response } = fixture(name);
    keys[name] = query(q).key;
    cache.put(keys[name], response, scanResponse(response), T0);
  }
  return { cache, keys };
}

/** A Persister whose log lines are captured. */
function persister(cache: DnsCache, path: string, clock: ManualClock, maxBytes = 1024 * 1024) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const registry = createRegistry(false);
  const p = new Persister(
    cache,
    { path, intervalMs: 60_000, maxBytes },
    clock,
    pino({ level: 'info' }, sink),
    createPersistMetrics(registry),
  );
  const loads = async (result: string) =>
    (await registry.getSingleMetric('ballast_snapshot_loads_total')!.get()).values.find(
      (v) => v.labels.result === result,
    )?.value ?? 0;
  return { p, lines, loads };
}

describe('snapshot format', () => {
  it('loads a snapshot written by the previous release (CRC-32 from the crc-32 package, before zlib.crc32)', () => {
    // Written by 0.1.0 as of commit 8fb947f: the fixtures a-basic, mx and nxdomain-soa stored at T0, at T0 + 1000.
    const data = readFileSync(join(import.meta.dirname, '../fixtures/snapshot/v3-crc-32-package.snapshot'));
    const back = decodeSnapshot(data);
    expect(back.writtenAtMs).toBe(T0 + 1000);
    const { cache } = filledCache();
    expect(back.entries.map((e) => e.bytes)).toEqual([...cache.exportEntries()].map((e) => e.bytes));
    expect(encodeSnapshot(cache.exportEntries(), T0 + 1000, 1 << 20).data).toEqual(data);
  });

  it('round-trips keys, ages and bytes, least recently used first', () => {
    const { cache } = filledCache();
    const { data, count, complete } = encodeSnapshot(cache.exportEntries(), T0 + 1000, 1 << 20);
    expect([count, complete]).toEqual([3, true]);
    const back = decodeSnapshot(data);
    expect(back.writtenAtMs).toBe(T0 + 1000);
    expect(back.entries.map((e) => e.storedAtMs)).toEqual([T0, T0, T0]);
    expect(back.entries.map((e) => e.bytes)).toEqual([...cache.exportEntries()].map((e) => e.bytes));
  });

  it('ends a file with the entry count and a CRC-32 of everything before it (version 3)', () => {
    const { cache } = filledCache();
    const { data } = encodeSnapshot(cache.exportEntries(), T0, 1 << 20);
    expect(data.readUInt16BE(8)).toBe(3);
    expect(data.readUInt32BE(data.length - 8)).toBe(3);
    // node:zlib's CRC-32 is an implementation independent of the one the writer uses.
    expect(data.readUInt32BE(data.length - 4)).toBe(crc32(data.subarray(0, data.length - 4)));
  });

  /** A version 1 or 2 file built by hand: SHA-256 of everything before it at the end, the count where that version keeps it. */
  function legacyFile(version: 1 | 2, entries: SnapshotEntry[], writtenAtMs: number): Buffer {
    const header = Buffer.alloc(version === 1 ? 24 : 20);
    Buffer.from('BLSTSNAP', 'latin1').copy(header, 0);
    header.writeUInt16BE(version, 8);
    header.writeDoubleBE(writtenAtMs, 12);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(entries.length, 0);
    if (version === 1) count.copy(header, 20);
    const body = Buffer.concat([
      header,
      ...entries.map((e) => {
        const key = Buffer.from(e.key, 'latin1');
        const part = Buffer.alloc(2 + key.length + 8 + 2 + e.bytes.length);
        let at = part.writeUInt16BE(key.length, 0);
        at += key.copy(part, at);
        at = part.writeDoubleBE(e.storedAtMs, at);
        at = part.writeUInt16BE(e.bytes.length, at);
        e.bytes.copy(part, at);
        return part;
      }),
      ...(version === 2 ? [count] : []),
    ]);
    return Buffer.concat([body, createHash('sha256').update(body).digest()]);
  }

  for (const [version, written] of [
    [1, 'before the compact cache (entry count in the header)'],
    [2, 'before the CRC-32 checksum (a SHA-256 digest)'],
  ] as const) {
    it(`still reads version ${version} files, as ballast ${written} wrote them`, () => {
      const { cache } = filledCache();
      const entries = [...cache.exportEntries()];
      const file = legacyFile(version, entries, T0 + 5);
      const back = decodeSnapshot(file);
      expect(back.writtenAtMs).toBe(T0 + 5);
      expect(back.entries.map((e) => e.key)).toEqual(entries.map((e) => e.key));
      const next = new DnsCache({ ...OPEN }, hooks());
      expect(loadSnapshot(next, file, T0).restored).toBe(entries.length);
      for (const e of entries) expect(next.lookup(e.key, T0)?.entry.bytes).toEqual(e.bytes);
      const flipped = Buffer.from(file.map((b, i) => (i === 40 ? b ^ 0xff : b)));
      expect(() => decodeSnapshot(flipped)).toThrow(/checksum mismatch/);
    });
  }

  it('stops at maxBytes and says it is incomplete', () => {
    const { cache } = filledCache();
    const { data, count, complete } = encodeSnapshot(cache.exportEntries(), T0, 200);
    expect(complete).toBe(false);
    expect(count).toBeLessThan(3);
    expect(data.length).toBeLessThanOrEqual(200);
    expect(decodeSnapshot(data).entries).toHaveLength(count);
  });
});

describe('Persister', () => {
  it('restores entries with their true age: a stale entry stays stale, a fresh one keeps its remaining TTL', async () => {
    const path = join(dir(), 'snap');
    const clock = new ManualClock(T0);
    const { cache, keys } = filledCache();
    expect(await persister(cache, path, clock).p.write()).toBe(true);

    clock.advance(60_000); // a minute later, a new process
    const fresh = new DnsCache({ ...OPEN }, hooks());
    const { p, lines } = persister(fresh, path, clock);
    expect(p.load()).toBe(3);
    expect(lines.some((l) => l.msg === 'snapshot loaded' && l.restored === 3)).toBe(true);
    expect(fresh.lookup(keys['a-basic'], clock.now())?.state).toBe('stale'); // TTL 5, 60 s old
    const mx = fresh.lookup(keys.mx, clock.now());
    expect(mx?.state).toBe('fresh'); // TTL 300
    expect(mx?.entry.storedAtMs).toBe(T0);
    // A fresh refresh point, inside the jitter window of the original lifetime.
    expect(mx!.entry.refreshAtMs).toBeGreaterThanOrEqual(T0 + 0.75 * 300_000);
    expect(mx!.entry.refreshAtMs).toBeLessThanOrEqual(T0 + 0.95 * 300_000);
  });

  it('skips an entry whose bytes do not carry its key (an mx answer filed under the a-basic key)', () => {
    const path = join(dir(), 'snap');
    const clock = new ManualClock(T0);
    const { cache, keys } = filledCache();
    const entries = [...cache.exportEntries()];
    const forged = { ...entries.find((e) => e.key === keys.mx)!, key: keys['a-basic'] };
    writeFileSync(path, encodeSnapshot([forged], T0, 1 << 20).data);
    const next = new DnsCache({ ...OPEN }, hooks());
    expect(persister(next, path, clock).p.load()).toBe(0);
    expect(next.has(keys['a-basic'])).toBe(false);
  });

  it('skips entries already past stale.maxAge', async () => {
    const path = join(dir(), 'snap');
    const clock = new ManualClock(T0);
    const { cache } = filledCache();
    await persister(cache, path, clock).p.write();
    clock.advance((300 + 86_400) * 1000); // even mx (TTL 300) is a day past expiry
    const next = new DnsCache({ ...OPEN, staleMaxAgeSeconds: 86_400 }, hooks());
    expect(persister(next, path, clock).p.load()).toBe(0);
    expect(next.entries).toBe(0);
  });

  const bad: [string, (good: Buffer) => Buffer, string][] = [
    ['corrupt (a flipped byte)', (g) => Buffer.from(g.map((b, i) => (i === 40 ? b ^ 0xff : b))), 'corrupt'],
    ['truncated', (g) => g.subarray(0, g.length - 50), 'truncated'],
    ['foreign', () => Buffer.from('{"not":"a snapshot"}\n'), 'foreign'],
    ['from a future version', (g) => Buffer.from(g.map((b, i) => (i === 9 ? 99 : b))), 'future_version'],
    ['oversized', (g) => Buffer.concat([g, Buffer.alloc(4096)]), 'oversized'],
  ];
  for (const [name, damage, problem] of bad) {
    it(`a ${name} file is reported (log + metric) and ignored`, async () => {
      const path = join(dir(), 'snap');
      const clock = new ManualClock(T0);
      const { cache } = filledCache();
      await persister(cache, path, clock).p.write();
      const good = readFileSync(path);
      writeFileSync(path, damage(good));
      const next = new DnsCache({ ...OPEN }, hooks());
      const { p, lines, loads } = persister(next, path, clock, good.length + 100);
      expect(p.load()).toBe(0);
      expect(next.entries).toBe(0);
      expect(await loads(problem)).toBe(1);
      expect(lines.find((l) => l.msg === 'snapshot ignored; starting cold')).toMatchObject({ problem, level: 40 });
    });
  }

  it('a missing file is a cold start, not a warning', async () => {
    const { p, lines, loads } = persister(new DnsCache({ ...OPEN }, hooks()), join(dir(), 'none'), new ManualClock(T0));
    expect(p.load()).toBe(0);
    expect(await loads('missing')).toBe(1);
    expect(lines.map((l) => l.level)).toEqual([30]);
  });

  it('a failed write (directory not writable) is reported and never throws', async () => {
    const blocker = join(dir(), 'file');
    writeFileSync(blocker, 'x');
    const { p, lines } = persister(filledCache().cache, join(blocker, 'snap'), new ManualClock(T0));
    expect(await p.write()).toBe(false);
    expect(lines.some((l) => String(l.msg).startsWith('snapshot write failed'))).toBe(true);
  });

  it('an unwritable path is one warning line at start that says how to choose another, not one per write', async () => {
    const blocker = join(dir(), 'file');
    writeFileSync(blocker, 'x');
    const clock = new ManualClock(T0);
    const { p, lines } = persister(filledCache().cache, join(blocker, 'sub', 'snap'), clock);
    p.start();
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      await p.write();
    }
    p.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'snapshot path is not writable; the cache will not survive a restart',
      hint: expect.stringContaining('--snapshot PATH'),
    });
    expect(lines[0]).not.toHaveProperty('err'); // no stack trace
  });

  it('decode errors are SnapshotErrors with the problem named', () => {
    expect(() => decodeSnapshot(Buffer.from('BLSTSNAP'))).toThrow(SnapshotError);
  });
});

describe('ballast with a snapshot, over real sockets', () => {
  let upstream: FakeUpstream;
  let b: Running | undefined;
  afterEach(async () => {
    await b?.close();
    await upstream?.close();
  });

  it('starts cleanly on a corrupt file and serves', async () => {
    const path = join(dir(), 'snap');
    writeFileSync(path, Buffer.from('BLSTSNAP garbage'));
    upstream = await startFakeUpstream({ records: { 'ok.test/1': [a('ok.test', '192.0.2.1')] } });
    b = await startBallast({ upstream: { servers: [upstream.address] }, persistence: { enabled: true, path } });
    expect(await b.metric('ballast_snapshot_loads_total', { result: 'truncated' })).toBe(1);
    const r = await dnsQuery(b.port, 'ok.test', Packet.TYPE.A);
    expect(header(r.raw).rcode).toBe(0);
  });

  it('writes at shutdown; the next instance answers from it before asking upstream', async () => {
    const path = join(dir(), 'snap');
    const clock = new ManualClock();
    upstream = await startFakeUpstream({ records: { 'kept.test/1': [a('kept.test', '192.0.2.44', 300)] } });
    b = await startBallast(
      { upstream: { servers: [upstream.address] }, persistence: { enabled: true, path } },
      { clock },
    );
    await dnsQuery(b.port, 'kept.test', Packet.TYPE.A);
    await b.close();
    clock.advance(10_000);
    b = await startBallast(
      { upstream: { servers: [upstream.address] }, persistence: { enabled: true, path } },
      { clock },
    );
    const r = await dnsQuery(b.port, 'kept.test', Packet.TYPE.A);
    expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.44', ttl: 290 });
    expect(upstream.count('kept.test')).toBe(1);
  });
});
