// Killed with SIGKILL during an upstream outage and started again: names cached before the last snapshot are
// answered (stale) from the first query after the restart. The built CLI, real sockets, real time.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot } from '../../src/persist/snapshot.js';
import { type CliProcess, scrape, startCli } from '../helpers/cli.js';
import { header, Packet, query } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const NAMES = Array.from({ length: 20 }, (_, i) => `svc${i}.restart.test`);
const addressOf = (i: number) => `192.0.2.${i + 1}`;

describe('restart from a snapshot during an outage', () => {
  let upstream: FakeUpstream;
  let first: CliProcess | undefined;
  let second: CliProcess | undefined;
  afterAll(async () => {
    await first?.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await upstream?.close();
  });

  it('answers every name cached before the last snapshot, stale, from the first query after SIGKILL', async () => {
    upstream = await startFakeUpstream({
      records: Object.fromEntries(NAMES.map((n, i) => [`${n}/1`, [a(n, addressOf(i), 2)]])),
    });
    const snapshot = join(mkdtempSync(join(tmpdir(), 'ballast-restart-')), 'cache.snapshot');
    const args = ['--upstream', upstream.address, '--snapshot', snapshot, '--snapshot-interval', '1'];
    first = await startCli(args);
    for (const n of NAMES) expect(header((await query(first.port, n, Packet.TYPE.A)).raw).rcode).toBe(0);
    // Wait for a snapshot written after those answers: two more successful writes.
    const written = await scrape(first.adminPort, 'ballast_snapshot_writes_total', { result: 'success' });
    await until(
      async () =>
        (await scrape(first!.adminPort, 'ballast_snapshot_writes_total', { result: 'success' })) >= written + 2,
      'a snapshot after the answers',
    );

    await first.stop('SIGKILL');
    first = undefined;
    upstream.mode = 'blackhole'; // the outage: the upstream stops answering
    // Ballast is down for 3 s: every entry's TTL (2 s) runs out meanwhile. The time is not waited for; the snapshot
    // the killed process left is aged instead: its write time and every entry's fetch time moved 3 s back, which is
    // what ballast reads 3 s later. It holds every name, each stored before the write.
    const left = decodeSnapshot(readFileSync(snapshot));
    // A key starts with the qname in wire form (cache/key.ts).
    const wire = (n: string) =>
      `${n
        .split('.')
        .map((l) => String.fromCharCode(l.length) + l)
        .join('')}\0`;
    for (const n of NAMES) expect(left.entries.filter((e) => e.key.startsWith(wire(n)))).toHaveLength(1);
    for (const e of left.entries) expect(e.storedAtMs).toBeLessThanOrEqual(left.writtenAtMs);
    const DOWN_MS = 3_000;
    const aged = left.entries.map((e) => ({ ...e, storedAtMs: e.storedAtMs - DOWN_MS }));
    writeFileSync(snapshot, encodeSnapshot(aged, left.writtenAtMs - DOWN_MS, 1 << 24).data);

    second = await startCli(args);
    expect(second.output()).toContain('"msg":"snapshot loaded"');
    expect(second.output()).toMatch(/"restored":20,"skipped":0,/);
    // The age is the 3 s it was aged by plus the real time from the kill to the load, which a busy machine stretches:
    // at least 3, and no more than the time that has passed since the file's (aged) write time.
    const age = Number(/"ageSeconds":(\d+)/.exec(second.output())?.[1]);
    expect(age).toBeGreaterThanOrEqual(DOWN_MS / 1000);
    expect(age).toBeLessThanOrEqual(Math.round((Date.now() - (left.writtenAtMs - DOWN_MS)) / 1000));
    // A client that waits as glibc does (5 s): the stale answers come within the 1.8 s client response timer.
    const answers = await Promise.all(
      NAMES.map((n) => query(second!.port, n, Packet.TYPE.A, { edns: 1232 }, '127.0.0.1', 5000)),
    );
    answers.forEach((r, i) => {
      expect(header(r.raw).rcode).toBe(0);
      expect(r.packet.answers[0]).toMatchObject({ address: addressOf(i), ttl: 30 });
      expect(r.raw.subarray(-6)).toEqual(Buffer.from([0, 15, 0, 2, 0, 3])); // EDE 3, Stale Answer
    });
    expect(await scrape(second.adminPort, 'ballast_snapshot_loads_total', { result: 'success' })).toBe(1);
  });
});
