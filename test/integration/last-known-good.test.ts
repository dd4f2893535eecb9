// Last known good (docs/resilience.md): a CoreDNS that is up but answers *wrong* negatives — NXDOMAIN or NODATA for
// names it served a minute ago — does not take the cache with it, while a name that really disappears still does.
// Over real loopback sockets against a fake CoreDNS (TTL 5) whose answers change while it runs; ballast and the fake's
// answers share a ManualClock, moved only when the sockets are quiet, so every figure is virtual time.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { Packet } from '../helpers/client.js';
import { type Asked, drive, TimedClient } from '../helpers/timeline.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const A = Packet.TYPE.A;
const ZONE = 'cluster.local';

/** 50 Services in 5 namespaces, each with its own address. */
const SERVICES = Array.from({ length: 50 }, (_, i) => `svc${i}.ns${i % 5}.svc.${ZONE}`);
const addressOf = (name: string) => `10.96.0.${SERVICES.indexOf(name) + 1}`;

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

/** Starts the fake CoreDNS and ballast (cluster.local to the fake); `says(name, n)` decides each answer. */
async function start(says: (name: string, n: number) => Says, config: Partial<ConfigInput> = {}) {
  clock = new ManualClock();
  let n = 0;
  upstream = await startFakeUpstream({
    clock,
    respond: (req) => {
      const q = req.questions[0];
      const name = q.name.toLowerCase();
      const res = Packet.createResponseFromRequest(req);
      res.header.aa = 1;
      // A Service has an A record and nothing else: its AAAA is NODATA, unless the fake says NXDOMAIN for it.
      const says_ = SERVICES.includes(name) ? says(name, n++) : 'nxdomain';
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

/** The share of asks answered with the name's own address, in %. */
const rightShare = (asked: Asked[]) =>
  (100 * asked.filter((q) => q.rcode === 0 && q.addresses?.[0] === addressOf(q.name)).length) / asked.length;

describe('CoreDNS answers wrong negatives: the last known good answers are served', () => {
  for (const [what, wrong] of [
    ['NXDOMAIN for every name', () => 'nxdomain'],
    ['NODATA for every name', () => 'nodata'],
    ['NXDOMAIN from one replica in three', (_: string, n: number) => (n % 3 === 0 ? 'nxdomain' : 'address')],
  ] as [string, (name: string, n: number) => Says][]) {
    it(`${what} for 40 s: ≥ 99.9 % of lookups get the right address, during and after`, async () => {
      let phase: 'warm' | 'wrong' | 'right' = 'warm';
      await start((name, n) => (phase === 'wrong' ? wrong(name, n) : 'address'));
      const warm = await ask(15);
      phase = 'wrong';
      const during = await ask(40);
      phase = 'right';
      const after = await ask(15);
      expect(rightShare(warm)).toBe(100);
      expect(rightShare(during)).toBeGreaterThanOrEqual(99.9);
      expect(rightShare(after)).toBeGreaterThanOrEqual(99.9);
      // Served as RFC 8767 stale answers, and counted.
      expect(await b!.metric('ballast_stale_answers_total', { reason: 'last_known_good' })).toBeGreaterThan(0);
      expect(await b!.metric('ballast_upstream_contradictions_total')).toBeGreaterThan(0);
      // The upstream was judged wrong while all of the zone flipped; it is not any more.
      expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(0);
    });
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
  it('one Service alone turns NXDOMAIN: clients get NXDOMAIN for it within 15 s and from then on; the other 49 stay', async () => {
    const deleted = SERVICES[7];
    let gone = false;
    await start((name) => (gone && name === deleted ? 'nxdomain' : 'address'));
    await ask(15);
    gone = true;
    const t0 = clock.now();
    const after = await ask(30);
    const mine = after.filter((q) => q.name === deleted);
    const first = mine.find((q) => q.rcode === 3);
    expect(first, 'an NXDOMAIN for the deleted name').toBeDefined();
    expect(first!.at! - t0).toBeLessThanOrEqual(15_000);
    expect(mine.filter((q) => q.sentAt >= first!.sentAt).map((q) => q.rcode)).toEqual(
      mine.filter((q) => q.sentAt >= first!.sentAt).map(() => 3),
    );
    expect(rightShare(after.filter((q) => q.name !== deleted))).toBe(100);
    expect(await b!.metric('ballast_upstream_answers_wrong')).toBe(0);
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
    expect(await b!.metric('ballast_stale_answers_total', { reason: 'last_known_good' })).toBeGreaterThan(0);
  });
});
