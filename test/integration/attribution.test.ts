// What failed, decided once (docs/resilience.md, "What failed"): each case over real loopback sockets against a fake
// upstream whose behaviour changes while it runs. Ballast and the fake's answer delays share a ManualClock, and the
// clock moves only once the sockets have gone quiet, so every latency below is virtual time: the same on a busy
// machine as on an idle one.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { Packet } from '../helpers/client.js';
import { WorkerClient, WorkerUpstream } from '../helpers/peer.js';
import { type Asked, drive, percentile, TimedClient } from '../helpers/timeline.js';
import { a, type FakeUpstream, type Responder, startFakeUpstream } from '../helpers/upstream.js';

const A = Packet.TYPE.A;
const EDE = (code: number) => Buffer.from([0, 15, 0, 2, 0, code]);

let upstream: FakeUpstream | undefined;
let b: Running | undefined;
const clients: TimedClient[] = [];
let clock: ManualClock;
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await b?.close();
  await upstream?.close();
  b = upstream = undefined;
});

/**
 * The fake answers `name` A with 192.0.2.1 (TTL 60), unless `respond` says otherwise, after `delayMs` of ballast's
 * clock; only records of the type asked are sent (a probe asks the zone's SOA). Ballast serves "." and
 * cluster.local from this one upstream, as a node serves both from CoreDNS.
 */
async function start(
  opts: { respond?: Responder; delayMs?: number | ((name: string) => number) } = {},
  config: Partial<ConfigInput> = {},
) {
  clock = new ManualClock();
  const delay = opts.delayMs;
  upstream = await startFakeUpstream({
    clock,
    network: delay === undefined ? undefined : { delayMs: typeof delay === 'number' ? () => delay : delay },
    respond: (req, transport, rinfo) => {
      const custom = opts.respond?.(req, transport, rinfo);
      if (custom !== undefined) return custom;
      const res = Packet.createResponseFromRequest(req);
      if (req.questions[0].type === A) res.answers.push(a(req.questions[0].name, '192.0.2.1', 60) as never);
      return res;
    },
  });
  b = await startBallast(
    {
      ...config,
      upstream: { ...config.upstream, servers: [upstream.address] },
      zones: [{ name: 'cluster.local', servers: [upstream.address] }],
    },
    { clock, random: { float: () => 0.5, id16: systemRandom.id16 } },
  );
}

async function client(from = '127.0.0.1'): Promise<TimedClient> {
  const c = await TimedClient.open(b!.port, clock, from);
  clients.push(c);
  return c;
}

/** Packets seen so far, for `drive` to know when the sockets are quiet. */
const activity = () => upstream!.queries.length + clients.reduce((n, c) => n + c.received, 0);

/**
 * For floods: as start() with the default answers, but the fake upstream and the clients run in worker threads
 * (test/helpers/peer.ts), so the flood's load is not on the event loop ballast answers on. Closed by afterEach.
 */
const peers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});
async function startWithPeers(delayMs: number, config: Partial<ConfigInput> = {}) {
  clock = new ManualClock();
  const up = await WorkerUpstream.start(clock, { delayMs });
  peers.push(up);
  b = await startBallast(
    {
      ...config,
      upstream: { ...config.upstream, servers: [up.address] },
      zones: [{ name: 'cluster.local', servers: [up.address] }],
    },
    { clock, random: { float: () => 0.5, id16: systemRandom.id16 } },
  );
  const all: WorkerClient[] = [];
  const client = async (from: string) => {
    const c = await WorkerClient.open(b!.port, clock, from);
    peers.push(c);
    all.push(c);
    return c;
  };
  const activity = () => all.reduce((n, c) => n + c.moving, up.moving);
  const sync = () => Promise.all([up.sync(), ...all.map((c) => c.sync())]);
  return { up, client, activity, sync };
}

const names = (prefix: string, n: number, zone: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}.${zone}`);

describe('one broken domain is not a broken upstream', () => {
  it('partner.example breaks while its name was the last answered; the route is probed: new names elsewhere get NOERROR', async () => {
    let partnerBroken = false;
    await start({
      // A name behind a slow recursion: while it is out and nothing else is answered, the upstream is silent.
      delayMs: (name) => (name === 'slow.example.org' ? 10_000 : 0),
      respond: (req) => {
        if (!partnerBroken || !req.questions[0].name.toLowerCase().endsWith('partner.example')) return undefined;
        const res = Packet.createResponseFromRequest(req);
        res.header.rcode = 2;
        return res;
      },
    });
    const c1 = await client('127.0.0.1');
    const c2 = await client('127.0.0.2');
    // Answered: the zone's last answered name, which a probe that replays names would ask.
    const before = c1.ask('www.partner.example');
    await drive(clock, { stepMs: 100, forMs: 100, activity });
    expect(before.rcode).toBe(0);
    // partner.example's authority breaks: 25 of its names answered SERVFAIL, while one slow name stays out. A second
    // later the upstream has been silent for upstream.health.silenceMs: it is suspect, and probed.
    partnerBroken = true;
    c1.ask('slow.example.org');
    const broken = names('n', 25, 'partner.example').map((n) => c1.ask(n));
    const fresh: Asked[] = [];
    const suspectAt = clock.now() + 1_000;
    await drive(clock, {
      stepMs: 100,
      forMs: 7_200,
      activity,
      each: (t) => {
        const at = t - suspectAt;
        if (at === 500 || at === 3_000 || at === 6_000) fresh.push(c2.ask(`new${at}.example.org`));
      },
    });
    expect(broken.map((q) => q.rcode)).toEqual(Array(25).fill(2));
    expect(fresh.map((q) => [q.rcode, q.at! - q.sentAt])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(await b!.metric('ballast_upstream_health_transitions_total', { zone: '.', state: 'suspect' })).toBe(1);
    expect(await b!.metric('ballast_upstream_probes_total', { zone: '.', result: 'success' })).toBe(1);
    expect(await b!.metric('ballast_upstream_health_state', { zone: '.' })).toBe(0);
    // The probe asked the zone's SOA, never the broken domain's name: only the client's 26 queries reached it.
    expect(upstream!.queries.filter((q) => q.name.endsWith('partner.example')).length).toBe(26);
    expect(upstream!.queries.filter((q) => q.name === '' && q.type === Packet.TYPE.SOA).length).toBe(1);
  });
});

describe('down means down at once', () => {
  it('upstream blackholed: a miss ends within 2.5 s with SERVFAIL and EDE 22, and is not held against the name', async () => {
    await start();
    const c = await client();
    c.ask('warm.example.org'); // an answer first, so the RTO is learnt as it would be on a running node
    await drive(clock, { stepMs: 50, forMs: 50, activity });
    upstream!.mode = 'blackhole';
    const t0 = clock.now();
    const miss = c.ask('never-cached.example.org', A, { edns: 1232 });
    await drive(clock, { stepMs: 50, forMs: 5_000, activity, done: () => miss.at !== undefined });
    expect(miss.rcode).toBe(2);
    expect(miss.raw!.subarray(-6)).toEqual(EDE(22));
    expect(miss.at! - t0).toBeLessThanOrEqual(2_500);
    expect(await b!.metric('ballast_upstream_health_state', { zone: '.' })).toBe(2);
    expect(await b!.metric('ballast_failure_cache_entries')).toBe(0);
    // The upstream returns: the same name is asked upstream again, not answered from a held failure.
    upstream!.mode = 'answer';
    await drive(clock, { stepMs: 100, forMs: 2_000, activity });
    const again = c.ask('never-cached.example.org');
    await drive(clock, { stepMs: 50, forMs: 200, activity });
    expect(again.rcode).toBe(0);
  });
});

describe('REFUSED for one domain is that domain’s policy, not congestion', () => {
  const refusing: Responder = (req) => {
    if (!req.questions[0].name.toLowerCase().endsWith('.blocked.example')) return undefined;
    const res = Packet.createResponseFromRequest(req);
    res.header.rcode = 5;
    return res;
  };

  it('200 refused names from one client leave the window at its maximum; another client’s 500 names take no longer', async () => {
    await start({ respond: refusing, delayMs: 20 });
    const other = await client('127.0.0.3');
    const baseline = names('base', 500, 'example.org').map((n) => other.ask(n));
    await drive(clock, { stepMs: 5, forMs: 2_000, activity, done: () => other.received === 500 });
    const policy = await client('127.0.0.2');
    const refused = names('x', 200, 'blocked.example').map((n) => policy.ask(n));
    await drive(clock, { stepMs: 5, forMs: 2_000, activity, done: () => policy.received === 200 });
    expect(refused.map((q) => q.rcode)).toEqual(Array(200).fill(5));
    expect(await b!.metric('ballast_upstream_inflight_limit')).toBe(1000);
    const after = names('new', 500, 'example.org').map((n) => other.ask(n));
    await drive(clock, { stepMs: 5, forMs: 5_000, activity, done: () => other.received === 1000 });
    expect(after.map((q) => q.rcode)).toEqual(Array(500).fill(0));
    expect(percentile(after, 50)).toBeLessThanOrEqual(percentile(baseline, 50) * 1.1);
    expect(await b!.metric('ballast_upstream_inflight_limit')).toBe(1000);
  });

  it('REFUSED for names in many domains halves the window; it is back to its maximum within 5 s of the refusals stopping', async () => {
    let overloaded = true;
    await start({ respond: (req) => (overloaded ? refusingAll(req) : undefined), delayMs: 20 });
    const c = await client();
    for (let i = 0; i < 64; i++) c.ask(`r${i}.d${i % 8}.example`);
    await drive(clock, { stepMs: 5, forMs: 200, activity });
    expect(await b!.metric('ballast_upstream_inflight_limit')).toBeLessThan(1000);
    overloaded = false;
    const stopped = clock.now();
    let i = 0;
    let limit = 0;
    let full: number | undefined;
    await drive(clock, {
      stepMs: 50,
      forMs: 8_000,
      activity,
      each: () => {
        c.ask(`ok${i++}.example.org`);
        void b!.metric('ballast_upstream_inflight_limit').then((v) => (limit = v));
      },
      done: () => {
        if (limit === 1000) full ??= clock.now();
        return full !== undefined;
      },
    });
    expect(full, 'the window back at its maximum').toBeDefined();
    expect(full! - stopped).toBeLessThanOrEqual(5_000);
  });
});

function refusingAll(req: InstanceType<typeof Packet>) {
  if (req.questions[0].type !== A) return undefined;
  const res = Packet.createResponseFromRequest(req);
  res.header.rcode = 5;
  return res;
}

describe('time in ballast’s own queue is blamed on nothing', () => {
  it('a flood waits for a small window (10) on a slow upstream (60 ms); 10 s later another client gets NOERROR from upstream', async () => {
    const { up, client, activity, sync } = await startWithPeers(60, { upstream: { servers: [], maxInflight: 10 } });
    const flood = await client('127.0.0.2');
    const flooded = names('f', 2000, 'example.org');
    // In slices, so the kernel's receive buffer takes them all; all at virtual time 0.
    for (let i = 0; i < flooded.length; i += 250) {
      for (const n of flooded.slice(i, i + 250)) flood.ask(n);
      await drive(clock, { stepMs: 1, forMs: 0, activity, sync });
    }
    await drive(clock, { stepMs: 60, forMs: 10_000, activity, sync });
    expect(await b!.metric('ballast_failure_cache_entries')).toBe(0);
    // The late names: flood queries that ran out of time in the queue and never reached the upstream. With the load
    // off ballast's event loop and every slice taken whole, how many is exact on virtual time: 668 went through the
    // window of 10 at 60 ms a round before the other 1,332 ran out of time.
    const unasked = flooded.filter((n) => up.count(n) === 0);
    expect(unasked.length).toBe(1332);
    expect(flooded.filter((n) => up.count(n) > 1)).toEqual([]);
    const late = unasked.slice(0, 50);
    const c = await client('127.0.0.3');
    const asked = late.map((n) => c.ask(n));
    await drive(clock, { stepMs: 60, forMs: 2_000, activity, sync, done: () => c.received === 50 });
    expect(asked.map((q) => q.rcode)).toEqual(Array(50).fill(0));
    // From the upstream, once each: the names were not failure-cached for time spent in ballast's own queue.
    expect(late.map((n) => up.count(n))).toEqual(Array(50).fill(1));
  });
});

describe('fair queuing sits where the capacity is: per upstream, across zones', () => {
  it('5,000 names flooded in cluster.local (200 ms answers): a quiet client’s 40 names in "." get NOERROR, p99 ≤ 600 ms', async () => {
    const { client, activity, sync } = await startWithPeers(200);
    const flood = await client('127.0.0.2');
    const quiet = await client('127.0.0.3');
    const flooded = names('svc', 5000, 'ns.svc.cluster.local');
    // In slices, so the kernel's receive buffer takes them all; all at virtual time 0.
    for (let i = 0; i < flooded.length; i += 250) {
      for (const n of flooded.slice(i, i + 250)) flood.ask(n);
      await drive(clock, { stepMs: 1, forMs: 0, activity, sync });
    }
    const asked = names('q', 40, 'example.org').map((n) => quiet.ask(n));
    await drive(clock, { stepMs: 20, forMs: 3_000, activity, sync, done: () => quiet.received === 40 });
    expect(asked.map((q) => q.rcode)).toEqual(Array(40).fill(0));
    expect(percentile(asked, 99)).toBeLessThanOrEqual(600);
    // Every one, not only the 99th percentile: two rounds of the upstream's 200 ms (a step more when a worker's send
    // lands after a clock step on a busy machine), none behind the flood's 5,000.
    expect(asked.map((q) => q.at! - q.sentAt).filter((w) => w < 400 || w > 600)).toEqual([]);
  });
});

describe('recovery is noticed in about a second', () => {
  for (const outageMs of [6_000, 20_000]) {
    it(`after a ${outageMs / 1000} s outage: the changed address of a stale name, and never-cached names, within 2.5 s`, async () => {
      let address = '192.0.2.1';
      await start({
        respond: (req) => {
          if (req.questions[0].name.toLowerCase() !== 'moved.example.org' || req.questions[0].type !== A) {
            return undefined;
          }
          const res = Packet.createResponseFromRequest(req);
          res.answers.push(a('moved.example.org', address, 5) as never);
          return res;
        },
      });
      const c = await client();
      const first = c.ask('moved.example.org');
      await drive(clock, { stepMs: 100, forMs: 6_000, activity }); // TTL 5 s: stale now
      expect(first.addresses).toEqual(['192.0.2.1']);
      upstream!.mode = 'blackhole';
      const asked: Asked[] = [];
      const fresh: Asked[] = [];
      let i = 0;
      const ask = (t: number) => {
        if (t % 200 === 0) asked.push(c.ask('moved.example.org'));
        if (t % 500 === 0) fresh.push(c.ask(`new${i++}.example.org`));
      };
      await drive(clock, { stepMs: 100, forMs: outageMs, activity, each: ask });
      expect(asked.every((q) => q.addresses?.[0] === '192.0.2.1')).toBe(true); // stale all through
      upstream!.mode = 'answer';
      address = '192.0.2.99';
      const back = clock.now();
      const before = { asked: asked.length, fresh: fresh.length };
      await drive(clock, { stepMs: 100, forMs: 4_000, activity, each: ask });
      const moved = asked.slice(before.asked).find((q) => q.addresses?.[0] === '192.0.2.99');
      expect(moved, 'the new address').toBeDefined();
      expect(moved!.at! - back).toBeLessThanOrEqual(2_500);
      const answered = fresh.slice(before.fresh).find((q) => q.rcode === 0);
      expect(answered, 'a never-cached name').toBeDefined();
      expect(answered!.at! - back).toBeLessThanOrEqual(2_500);
      // And from then on, every one.
      expect(fresh.slice(before.fresh).filter((q) => q.sentAt >= answered!.sentAt && q.rcode !== 0)).toEqual([]);
    });
  }
});

describe('the retry budget is shared fairly', () => {
  it('a client asking 300 names that never answer does not use up the resends another client’s lost datagrams need', async () => {
    const lostOnce = new Set<string>();
    await start({
      respond: (req) => {
        const name = req.questions[0].name.toLowerCase();
        if (name.endsWith('.dead.example')) return null; // never answered
        if (name.endsWith('.lossy.example.org') && !lostOnce.has(name)) {
          lostOnce.add(name); // the first datagram of each is lost
          return null;
        }
        return undefined;
      },
    });
    const dead = await client('127.0.0.2');
    for (const n of names('d', 300, 'dead.example')) dead.ask(n);
    await drive(clock, { stepMs: 50, forMs: 1_000, activity }); // the dead names have spent the bank by now
    const lossy = await client('127.0.0.3');
    const asked = names('l', 30, 'lossy.example.org').map((n) => lossy.ask(n));
    await drive(clock, { stepMs: 50, forMs: 5_000, activity, done: () => lossy.received === 30 });
    expect(asked.map((q) => q.rcode)).toEqual(Array(30).fill(0));
  });
});

describe('a route that goes down hands its queries to the zone’s other upstream', () => {
  it('a query waiting for A’s capacity moves to B’s queue when A goes down; one with an attempt out goes to B', async () => {
    clock = new ManualClock();
    const answer: Responder = (req) => {
      const res = Packet.createResponseFromRequest(req);
      if (req.questions[0].type === A) res.answers.push(a(req.questions[0].name, '192.0.2.7', 60) as never);
      return res;
    };
    const dead = await startFakeUpstream({ clock, respond: answer });
    dead.mode = 'blackhole';
    const slowB = await startFakeUpstream({
      clock,
      respond: answer,
      network: { delayMs: (name) => (name.startsWith('slow') ? 3000 : 0) },
    });
    try {
      b = await startBallast(
        { upstream: { servers: [dead.address, slowB.address], policy: 'sequential', maxInflight: 1 } },
        { clock, random: { float: () => 0.5, id16: systemRandom.id16 } },
      );
      const c = await client();
      const seen = () => dead.queries.length + slowB.queries.length + c.received;
      // ballast's loop check at start holds A's one slot until it times out (2 s): let it.
      await drive(clock, { stepMs: 100, forMs: 2_500, activity: seen });
      const m1 = c.ask('m1.example.org'); // to A, the first: blackholed
      await drive(clock, { stepMs: 1, forMs: 0, activity: seen });
      const m2 = c.ask('slow-m2.example.org'); // A is at its window of 1: to B, slow (3 s)
      await drive(clock, { stepMs: 1, forMs: 0, activity: seen });
      const m3 = c.ask('m3.example.org'); // both at their window: waits in A's queue (A comes first)
      await drive(clock, { stepMs: 50, forMs: 6_000, activity: seen, done: () => c.received === 3 });
      expect(
        await b.metric('ballast_upstream_health_transitions_total', { upstream: dead.address, state: 'open' }),
      ).toBeGreaterThanOrEqual(1);
      expect([m1, m2, m3].map((q) => q.rcode)).toEqual([0, 0, 0]);
      // m3 did not wait for its deadline, or go down with A: it was answered by B as soon as B was free.
      expect(m3.at! - m3.sentAt).toBeLessThanOrEqual(3_100);
      expect(slowB.count('m3.example.org')).toBe(1);
      expect(slowB.count('m1.example.org')).toBe(1);
    } finally {
      await b?.close();
      b = undefined;
      await dead.close();
      await slowB.close();
    }
  });
});
