// Hostile UDP clients (docs/design.md §6), over real loopback sockets: a flood of unique random names, failing names,
// a flood held up by its upstream, and floods from thousands of source addresses (anything in 127.0.0.0/8 is this
// host). Memory stays within its configured bounds — the cache (ballast_cache_bytes ≤ cache.maxBytes, entries ≤
// cache.maxEntries, stale and unpopular entries first), the failure cache, the fair queues — popular names stay cached,
// and every client gets an answer. Time is a ManualClock.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query } from '../helpers/client.js';
import { bulkInWorker } from '../helpers/peer.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const A = Packet.TYPE.A;
const MAX_ENTRIES = 150;
const MAX_BYTES = 256 * 1024;

let upstream: FakeUpstream | undefined;
let b: Running | undefined;
afterEach(async () => {
  await b?.close();
  await upstream?.close();
  b = upstream = undefined;
});

/** Every name has an A record; names starting "old" live 5 s, the rest 300 s. */
async function start(config: Partial<ConfigInput>, clock: ManualClock) {
  upstream = await startFakeUpstream({
    respond: (req) => {
      if (upstream?.mode !== 'answer') return undefined; // servfail, hold: as the fake does them
      const [q] = req.questions;
      const res = Packet.createResponseFromRequest(req);
      if (q.type === A) res.answers.push(a(q.name, '192.0.2.1', q.name.startsWith('old') ? 5 : 300) as never);
      return res;
    },
  });
  b = await startBallast({ ...config, upstream: { ...config.upstream, servers: [upstream.address] } }, { clock });
  // The loop check ballast sends at start is answered before a test holds the upstream: it would take a slot.
  await until(() => upstream!.queries.length > 0, 'the loop check');
  await until(async () => (await b!.metric('ballast_upstream_inflight')) === 0, 'the loop check answered');
  return b;
}

/**
 * Floods: each group's names asked from its source address, all at once; the rcodes, group by group. The clients run
 * in a worker thread (test/helpers/peer.ts), so the flood's load is not on the event loop ballast answers on.
 */
async function askMany(groups: { names: string[]; from: string }[]): Promise<(number | 'timeout')[][]> {
  const results = await bulkInWorker(
    b!.port,
    groups.map((g) => ({ from: g.from, msgs: g.names.map((n, i) => buildQuery(n, A, { id: i })) })),
    10_000,
  );
  return results.map((answers) => answers.map((r) => (r === null ? 'timeout' : header(r).rcode)));
}

/** `names` asked from one source address, all at once; their rcodes. */
async function ask(names: string[], from = '127.0.0.1'): Promise<(number | 'timeout')[]> {
  return (await askMany([{ names, from }]))[0];
}

const unique = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}-${(i * 2654435761) >>> 0}.flood.test`);

describe('a UDP flood of unique names', () => {
  it('keeps the cache within maxEntries and maxBytes, evicting stale entries first, and keeps a popular name', async () => {
    const clock = new ManualClock();
    await start({ cache: { maxEntries: MAX_ENTRIES, maxBytes: MAX_BYTES } }, clock);
    // 20 entries that go stale: cached, then 6 s later past their 5 s TTL (the sweep demotes them).
    expect(await ask(unique('old', 20))).toEqual(Array(20).fill(0));
    clock.advance(6_000);
    await query(b!.port, 'popular.flood.test', A);
    const evicted = (state: string) => b!.metric('ballast_cache_evictions_total', { state });
    // The byte bound is cache.maxBytes of arena plus the per-entry columns and index (docs/performance.md §1).
    const bound = await b!.metric('ballast_cache_max_bytes');
    expect(bound).toBeGreaterThanOrEqual(MAX_BYTES);
    expect(bound).toBeLessThanOrEqual(MAX_BYTES + MAX_ENTRIES * 128);
    // 3,000 new names, 50 at a time, the popular name asked between batches (as a busy service's name is).
    for (let i = 0; i < 60; i++) {
      expect(await ask(unique(`n${i}x`, 50))).toEqual(Array(50).fill(0));
      await query(b!.port, 'popular.flood.test', A);
      expect(await b!.metric('ballast_cache_entries')).toBeLessThanOrEqual(MAX_ENTRIES);
      expect(await b!.metric('ballast_cache_bytes')).toBeLessThanOrEqual(bound);
      // Not one fresh entry goes while a stale one is left.
      if ((await evicted('fresh')) > 0) expect(await evicted('stale')).toBe(20);
    }
    expect(await evicted('stale')).toBe(20);
    // Each of the 3,000 new names and the popular one was cached once: the cache is full, and the rest was evicted.
    expect(await b!.metric('ballast_cache_entries')).toBe(MAX_ENTRIES);
    expect(await evicted('fresh')).toBe(3000 + 1 - MAX_ENTRIES);
    expect(upstream!.count('popular.flood.test')).toBe(1);
  });

  it('keeps the failure cache within failureCache.maxEntries while every name fails', async () => {
    await start({ failureCache: { maxEntries: 20 } }, new ManualClock());
    upstream!.mode = 'servfail';
    for (let i = 0; i < 4; i++) expect(await ask(unique(`f${i}x`, 50))).toEqual(Array(50).fill(2));
    expect(await b!.metric('ballast_failure_cache_entries')).toBe(20);
  });
});

describe('a flood the upstream cannot keep up with', () => {
  const fairness = { queues: 4, handSize: 1, queueLength: 5 };

  it('from one address: its one queue fills, the rest is REFUSED at once, and the queued ones are answered', async () => {
    await start({ fairness, upstream: { maxInflight: 2 } }, new ManualClock());
    upstream!.mode = 'hold';
    const flood = ask(unique('q', 200));
    await until(async () => (await b!.metric('ballast_fair_queue_refused_total')) >= 200 - 2 - 5, 'the refusals');
    expect(await b!.metric('ballast_fair_queue_waiting')).toBe(5);
    upstream!.release();
    const rcodes = await flood;
    expect(rcodes.filter((r) => r === 5)).toHaveLength(200 - 2 - 5);
    expect(rcodes.filter((r) => r === 0)).toHaveLength(2 + 5);
  });

  it('from 1,000 source addresses: what waits stays within queues × queueLength, and every client gets an answer', async () => {
    await start({ fairness, upstream: { maxInflight: 2 } }, new ManualClock());
    upstream!.mode = 'hold';
    const sources = Array.from({ length: 1000 }, (_, i) => `127.${1 + (i >> 8)}.${i & 0xff}.${1 + (i % 7)}`);
    const floods = askMany(sources.map((from, i) => ({ names: [`s${i}.spoof.test`], from })));
    await until(async () => (await b!.metric('ballast_fair_queue_refused_total')) >= 1000 - 2 - 20, 'the refusals');
    expect(await b!.metric('ballast_fair_queue_waiting')).toBe(fairness.queues * fairness.queueLength);
    upstream!.release();
    const rcodes = (await floods).flat();
    expect(rcodes.every((r) => r === 0 || r === 5)).toBe(true);
    expect(rcodes.filter((r) => r === 0)).toHaveLength(2 + 20);
    expect(await b!.metric('ballast_fair_queue_waiting')).toBe(0);
  });

  it('from 1,000 source addresses with capacity to spare: every one answered, nothing left waiting', async () => {
    await start({}, new ManualClock());
    const sources = Array.from({ length: 1000 }, (_, i) => `127.9.${1 + (i >> 7)}.${1 + (i & 0x7f)}`);
    const rcodes = (await askMany(sources.map((from, i) => ({ names: [`t${i}.spoof.test`], from })))).flat();
    expect(rcodes).toEqual(Array(1000).fill(0));
    expect(await b!.metric('ballast_inflight_queries')).toBe(0);
  });
});
