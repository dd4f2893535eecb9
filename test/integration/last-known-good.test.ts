// Last known good (docs/resilience.md): a CoreDNS that is up but answers *wrong* negatives — NXDOMAIN or NODATA for
// names it served a minute ago — does not take the cache with it, while a name that really disappears still does.
// Over real loopback sockets against a fake CoreDNS (TTL 5) whose answers change while it runs; ballast and the fake's
// answers share a ManualClock, moved only when the sockets are quiet, so every figure is virtual time.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { edeCodeOf, scanResponse } from '../../src/wire/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { Packet } from '../helpers/client.js';
import { type Asked, drive, TimedClient } from '../helpers/timeline.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const A = Packet.TYPE.A;
const ZONE = 'cluster.local';

/** 50 Services in `namespaces` namespaces, each with its own address. */
const servicesIn = (namespaces: number) =>
  Array.from({ length: 50 }, (_, i) => `svc${i}.ns${i % namespaces}.svc.${ZONE}`);
/** The Services of the running test (5 namespaces unless it says otherwise). */
let SERVICES = servicesIn(5);
const addressOf = (name: string) => `10.96.0.${SERVICES.indexOf(name) + 1}`;

/**
 * A broken replica behind the Service: one ask in three, per name and per ask of it, from a fixed hash — the same
 * on every run whatever order the asks take, with runs of wrong answers for a name as a real replica gives them.
 */
function brokenReplica(name: string, k: number): boolean {
  let h = 2166136261;
  for (const ch of `${name}#${k}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  h ^= h >>> 15;
  h = Math.imul(h, 2246822507);
  h ^= h >>> 13;
  return (h >>> 0) % 3 === 0;
}

/** What the fake CoreDNS answers for a Service: its address, NXDOMAIN, or NODATA (both with the zone's SOA). */
type Says = 'address' | 'nxdomain' | 'nodata';

let upstream: FakeUpstream | undefined;
let b: Running | undefined;
let client: TimedClient | undefined;
let clock: ManualClock;
afterEach(async () => {
  await client?.close();
  await b?.close();
  await upstream?.close();
  b = upstream = client = undefined;
});

/**
 * Starts the fake CoreDNS and ballast (cluster.local to the fake); `says(name, k)` decides each answer, `k` counting
 * the asks of that name.
 */
async function start(
  says: (name: string, k: number) => Says,
  config: Partial<ConfigInput> = {},
  services = servicesIn(5),
) {
  SERVICES = services;
  clock = new ManualClock();
  const asks = new Map<string, number>();
  upstream = await startFakeUpstream({
    clock,
    respond: (req) => {
      const q = req.questions[0];
      const name = q.name.toLowerCase();
      const res = Packet.createResponseFromRequest(req);
      res.header.aa = 1;
      // A Service has an A record and nothing else: its AAAA is NODATA, unless the fake says NXDOMAIN for it.
      const k = asks.get(name) ?? 0;
      asks.set(name, k + 1);
      const says_ = SERVICES.includes(name) ? says(name, k) : 'nxdomain';
      const answer = q.type === A || says_ === 'nxdomain' ? says_ : 'nodata';
      if (answer === 'address') {
        res.answers.push(a(q.name, addressOf(name), 5) as never);
        return res;
      }
      if (answer === 'nxdomain') res.header.rcode = 3;
      res.authorities.push({
        name: ZONE,
        type: Packet.TYPE.SOA,
        class: 1,
        ttl: 5,
        primary: `ns.dns.${ZONE}`,
        admin: `hostmaster.${ZONE}`,
        serial: 1,
        refresh: 7200,
        retry: 1800,
        expiration: 86400,
        minimum: 5,
      } as never);
      return res;
    },
  });
  // The zone's servers are the fake's, whatever else a test sets for the zone (its policy).
  const zone = { name: ZONE, ...config.zones?.[0], servers: [upstream.address] };
  b = await startBallast(
    { ...config, upstream: { servers: ['127.0.0.1:9'] }, zones: [zone] },
    { clock, random: { float: () => 0.5, id16: systemRandom.id16 } },
  );
  client = await TimedClient.open(b.port, clock);
}

const activity = () => upstream!.queries.length + client!.received;

/** Asks the 50 Services in turn, 5 every 100 ms (50 q/s), for `seconds`; returns the asks. */
/** Whether an answer is a stale one: ballast's stale TTL (30 s), where the upstream's answers carry 5 s. */
const staleTtl = (q: Asked) => q.raw !== undefined && Packet.parse(q.raw).answers[0]?.ttl === 30;

async function ask(seconds: number, names = SERVICES): Promise<Asked[]> {
  const asked: Asked[] = [];
  let next = 0;
  await drive(clock, {
    stepMs: 100,
    forMs: seconds * 1000,
    activity,
    each: () => {
      for (let i = 0; i < 5; i++) asked.push(client!.ask(names[next++ % names.length]));
    },
  });
  await drive(clock, { stepMs: 100, forMs: 0, activity });
  return asked;
}

/** Whether an answer is fresh: no EDE, and its records' TTLs within the upstream's 5 s (a stale one says 30). */
function fresh(q: Asked): boolean {
  const scan = scanResponse(q.raw!);
  return edeCodeOf(q.raw!, scan.optStart, scan.optEnd) === -1 && Packet.parse(q.raw!).answers.every((r) => r.ttl <= 5);
}

/** The share of asks answered with the name's own address, in %. */
const rightShare = (asked: Asked[]) =>
  (100 * asked.filter((q) => q.rcode === 0 && q.addresses?.[0] === addressOf(q.name)).length) / asked.length;

describe('CoreDNS answers wrong negatives: the last known good answers are served', () => {
  const faults: [string, (name: string, k: number) => Says][] = [
    ['NXDOMAIN for every name', () => 'nxdomain'],
    ['NODATA for every name', () => 'nodata'],
    ['NXDOMAIN from one replica in three', (name, k) => (brokenReplica(name, k) ? 'nxdomain' : 'address')],
  ];
  for (const namespaces of [5, 1]) {
    for (const [what, wrong] of faults) {
      it(`${what} for 40 s, ${namespaces} namespace(s): ≥ 99.9 % right during and after; then a deletion shows`, async () => {
        let phase: 'warm' | 'wrong' | 'right' | 'deleted' = 'warm';
        const services = servicesIn(namespaces);
        const deleted = services[7];
        await start(
          (name, k) => {
            if (phase === 'wrong') return wrong(name, k);
            return phase === 'deleted' && name === deleted ? 'nxdomain' : 'address';
          },
          {},
          services,
        );
        const warm = await ask(15);
        phase = 'wrong';
        const during = await ask(20);
        // The upstream is judged wrong while the fault lasts.
        expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(1);
        during.push(...(await ask(20)));
        phase = 'right';
        const after = await ask(15);
        expect(rightShare(warm)).toBe(100);
        expect(rightShare(during)).toBeGreaterThanOrEqual(99.9);
        expect(rightShare(after)).toBeGreaterThanOrEqual(99.9);
        // Served as RFC 8767 stale answers, and counted: one count for each one the client got (TTL 30, where the
        // upstream's is 5).
        const kept = await b!.metric('ballast_stale_answers_total', { reason: 'last_known_good' });
        expect(kept).toBeGreaterThan(0);
        expect(kept).toBe([...warm, ...during, ...after].filter(staleTtl).length);
        expect(await b!.metric('ballast_upstream_contradictions_total')).toBeGreaterThan(0);
        // Back to normal once CoreDNS agrees: fresh answers for the last 10 s of it, no more kept ones.
        const lastTen = after.filter((q) => q.sentAt >= after[0].sentAt + 5000);
        expect(lastTen.filter((q) => !fresh(q)).map((q) => q.name)).toEqual([]);
        expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(0);

        // Then one Service alone is deleted: NXDOMAIN for it within 15 s and from then on; the other 49 stay.
        phase = 'deleted';
        const t0 = clock.now();
        const then = await ask(30);
        const mine = then.filter((q) => q.name === deleted);
        const first = mine.find((q) => q.rcode === 3);
        expect(first, 'an NXDOMAIN for the deleted name').toBeDefined();
        expect(first!.at! - t0).toBeLessThanOrEqual(15_000);
        const since = mine.filter((q) => q.sentAt >= first!.sentAt);
        expect(since.map((q) => q.rcode)).toEqual(since.map(() => 3));
        expect(rightShare(then.filter((q) => q.name !== deleted))).toBe(100);
        expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(0);
      });
    }
  }
});

describe('NXDOMAIN contradicts a NODATA too', () => {
  it('a Service’s AAAA (NODATA: the name exists) stays NODATA when CoreDNS says NXDOMAIN for everything', async () => {
    let wrong = false;
    await start(() => (wrong ? 'nxdomain' : 'address'));
    const aaaa = Packet.TYPE.AAAA;
    client!.ask(SERVICES[0], aaaa, { edns: 1232 });
    await ask(6); // every Service's A too; TTL 5: all stale now
    wrong = true;
    const asked: Asked[] = [];
    let next = 0;
    await drive(clock, {
      stepMs: 100,
      forMs: 20_000,
      activity,
      each: (t) => {
        for (let i = 0; i < 5; i++) client!.ask(SERVICES[next++ % SERVICES.length]);
        if (t % 1000 === 0) asked.push(client!.ask(SERVICES[0], aaaa, { edns: 1232 }));
      },
    });
    expect(asked.map((q) => q.rcode)).toEqual(asked.map(() => 0));
    expect(asked.every((q) => q.raw!.includes(Buffer.from('last known good; upstream said NXDOMAIN')))).toBe(true);
  });
});

describe('a real deletion still goes through', () => {
  /** After 15 s warm, the Services of `gone` disappear; 30 s of asks after that. */
  async function deleteAfterWarm(gone: (name: string) => boolean, config: Partial<ConfigInput> = {}) {
    let deleted = false;
    await start((name) => (deleted && gone(name) ? 'nxdomain' : 'address'), config);
    await ask(15);
    deleted = true;
    const t0 = clock.now();
    const after = await ask(30);
    return { t0, after };
  }

  /** Each deleted name turns NXDOMAIN within 15 s and stays so; every other name keeps its address. */
  function expectDeleted(t0: number, after: Asked[], gone: (name: string) => boolean) {
    const names = SERVICES.filter(gone);
    for (const name of names) {
      const mine = after.filter((q) => q.name === name);
      const first = mine.find((q) => q.rcode === 3);
      expect(first, `an NXDOMAIN for ${name}`).toBeDefined();
      expect(first!.at! - t0).toBeLessThanOrEqual(15_000);
      const since = mine.filter((q) => q.sentAt >= first!.sentAt);
      expect(since.map((q) => q.rcode)).toEqual(since.map(() => 3));
    }
    expect(rightShare(after.filter((q) => !gone(q.name)))).toBe(100);
  }

  it('three namespaces of five torn down together (a CI teardown): NXDOMAIN for all 30 within 15 s', async () => {
    const gone = (name: string) => /\.ns[012]\./.test(name);
    const { t0, after } = await deleteAfterWarm(gone);
    expectDeleted(t0, after, gone);
    expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(0);
  });

  it('a deletion whose NXDOMAIN cannot be cached (negative TTL 0) still replaces the old answer', async () => {
    const gone = (name: string) => name === SERVICES[7];
    const { t0, after } = await deleteAfterWarm(gone, { cache: { maxNegativeTtlSeconds: 0 } });
    expectDeleted(t0, after, gone);
  });

  it('names never answered positively get NXDOMAIN at once, with at most 1.2 upstream queries per name', async () => {
    await start(() => 'address');
    const nope = Array.from({ length: 200 }, (_, i) => `nope${i}.ns${i % 5}.svc.${ZONE}`);
    const before = upstream!.count();
    const asked = nope.map((n) => client!.ask(n));
    await drive(clock, { stepMs: 100, forMs: 100, activity });
    expect(asked.map((q) => [q.rcode, q.at! - q.sentAt])).toEqual(asked.map(() => [3, 0]));
    expect(upstream!.count() - before).toBeLessThanOrEqual(240);
    expect(await b!.metric('ballast_upstream_contradictions_total')).toBe(0);
  });
});

describe('the policy, per zone', () => {
  it('off: wrong negatives pass as they did before last known good (and are still counted)', async () => {
    let wrong = false;
    await start(() => (wrong ? 'nxdomain' : 'address'), { lastKnownGood: { policy: 'off' } });
    await ask(15);
    wrong = true;
    const during = await ask(20);
    expect(rightShare(during)).toBeLessThan(20);
    expect(await b!.metric('ballast_stale_answers_total', { reason: 'last_known_good' })).toBe(0);
    expect(await b!.metric('ballast_upstream_contradictions_total')).toBeGreaterThan(0);
  });

  it('prefer-positive: the old answer is kept for a deleted name too, for as long as it is asked', async () => {
    const deleted = SERVICES[7];
    let gone = false;
    await start((name) => (gone && name === deleted ? 'nxdomain' : 'address'), {
      zones: [{ name: ZONE, servers: ['127.0.0.1:9'], lastKnownGood: 'prefer-positive' }],
    });
    await ask(15);
    gone = true;
    const after = await ask(30);
    expect(rightShare(after)).toBe(100);
    // Kept for the deleted name each time it was asked: one count for each stale answer (TTL 30) the client got.
    const kept = await b!.metric('ballast_stale_answers_total', { reason: 'last_known_good' });
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBe(after.filter(staleTtl).length);
    expect(after.filter(staleTtl).every((q) => q.name === deleted)).toBe(true);
  });
});
