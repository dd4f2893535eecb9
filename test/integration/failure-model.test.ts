// The failure model (docs/resilience.md, "The failure model"), each case over real loopback sockets against a fake
// upstream, on the real clock: what fails is attributed to what failed — a name, not its upstream; a slow answer is
// waited for; a lost datagram is sent again; a busy client waits its turn; the upstream's OPT never reaches a client.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query, udpBulk } from '../helpers/client.js';
import { bulkInWorker, WorkerClient, WorkerUpstream } from '../helpers/peer.js';
import { type Asked, drive } from '../helpers/timeline.js';
import { a, type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '../helpers/upstream.js';

const A = Packet.TYPE.A;

let upstream: FakeUpstream | undefined;
let b: Running | undefined;
afterEach(async () => {
  await b?.close();
  await upstream?.close();
  b = upstream = undefined;
});

/**
 * A fake upstream answering `name` A with 192.0.2.1 for every name it is asked, unless `opts.respond` says otherwise.
 * Either way only records of the type asked are sent: a health probe asks an SOA, and an answer section that does not
 * answer the question is rejected (docs/design.md §6), as no real server would send one.
 */
async function start(opts: FakeUpstreamOptions = {}, config: Partial<ConfigInput> = {}) {
  const respond: NonNullable<FakeUpstreamOptions['respond']> =
    opts.respond ??
    ((req) => {
      const res = Packet.createResponseFromRequest(req);
      res.answers.push(a(req.questions[0].name, '192.0.2.1', 60) as never);
      return res;
    });
  upstream = await startFakeUpstream({
    ...opts,
    respond: (req, transport, rinfo) => {
      const res = respond(req, transport, rinfo);
      if (res instanceof Packet) res.answers = res.answers.filter((r) => r.type === req.questions[0].type);
      return res;
    },
  });
  b = await startBallast({
    ...config,
    upstream: { ...config.upstream, servers: [upstream.address] },
    zones: [{ name: 'cluster.local', servers: [upstream.address] }],
  });
  return b;
}

/** Queries from one client socket, all at once unless `schedule` spaces them; their rcodes, in order. */
async function ask(names: string[], from = '127.0.0.1', schedule?: number[]) {
  const msgs = names.map((n, i) => buildQuery(n, A, { id: i }));
  const results = await udpBulk(b!.port, msgs, { from, waitMs: 5000, schedule });
  return results.map((r) => (r.answer === null ? 'timeout' : header(r.answer).rcode));
}

const names = (prefix: string, n: number, zone = 'example.org') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}.${zone}`);

describe('a bad name is not a bad upstream', () => {
  it('8 names that never answer, asked twice each; then 40 new names in that zone and 40 in cluster.local: all NOERROR', async () => {
    const dead = names('dead', 8);
    await start({
      respond: (req) => {
        const name = req.questions[0].name.toLowerCase();
        if (dead.includes(name)) return null; // a lame delegation behind the upstream: no answer, ever
        const res = Packet.createResponseFromRequest(req);
        res.answers.push(a(name, '192.0.2.1', 60) as never);
        return res;
      },
    });
    const first = await ask([...dead, ...dead]);
    expect(first).toEqual(Array(16).fill(2)); // SERVFAIL at the deadline, each name once upstream at a time
    const fresh = [...names('new', 40), ...names('svc', 40, 'ns.svc.cluster.local')];
    expect(await ask(fresh)).toEqual(Array(80).fill(0));
    expect(await b!.metric('ballast_upstream_health_state')).toBe(0);
    // The probes that checked the upstream while the dead names were out never asked a dead name again: every
    // query for one is its own first attempt or a retransmission, at most a handful each.
    for (const n of dead) expect(upstream!.count(n)).toBeLessThanOrEqual(6);
  });

  it('names answered REFUSED or SERVFAIL change nothing for other names, and stay answered the same way', async () => {
    const refused = names('refused', 5);
    const failing = names('servfail', 5);
    await start({
      respond: (req) => {
        const name = req.questions[0].name.toLowerCase();
        const res = Packet.createResponseFromRequest(req);
        if (refused.includes(name)) res.header.rcode = 5;
        else if (failing.includes(name)) res.header.rcode = 2;
        else res.answers.push(a(name, '192.0.2.1', 60) as never);
        return res;
      },
    });
    const good = names('good', 60);
    const mixed = [...good.slice(0, 20), ...refused, ...good.slice(20, 40), ...failing, ...good.slice(40)];
    const rcodes = await ask(mixed);
    expect(rcodes).toEqual(mixed.map((n) => (refused.includes(n) ? 5 : failing.includes(n) ? 2 : 0)));
    expect(await b!.metric('ballast_upstream_health_state')).toBe(0);
    expect(await b!.metric('ballast_upstream_inflight_limit')).toBe(1000);
    // Asked again while their failures are held: the same rcode, not a SERVFAIL with "No Reachable Authority".
    const again = await query(b!.port, refused[0], A, { edns: 1232 });
    expect(header(again.raw).rcode).toBe(5);
    expect(again.raw.includes(Buffer.from([0, 15, 0, 2, 0, 22]))).toBe(false);
    expect(header((await query(b!.port, good[0], A)).raw).rcode).toBe(0);
  });
});

describe('a slow answer is not a dead upstream', () => {
  it('answers after 0.4, 0.7 and 1.2 s reach a client (one attempt, 5 s timeout) as NOERROR, then come from cache', async () => {
    const delays: Record<string, number> = {
      'slow1.example.org': 400,
      'slow2.example.org': 700,
      'slow3.example.org': 1200,
    };
    await start({ network: { delayMs: (name) => delays[name] ?? 0 } });
    const slow = Object.keys(delays);
    expect(await ask(slow)).toEqual([0, 0, 0]);
    const asked = upstream!.count();
    expect(await ask(slow)).toEqual([0, 0, 0]);
    expect(upstream!.count()).toBe(asked); // from cache
    expect(await b!.metric('ballast_upstream_health_state')).toBe(0);
  });
});

describe('a lost datagram is not a failed lookup', () => {
  it('with 20 % of datagrams lost each way, ≥ 99 % of 300 new names get NOERROR at the first attempt, ≤ 2 queries per name', async () => {
    const random = seededRandom(20);
    await start({ network: { lose: () => random.float() < 0.2 } });
    const rcodes = await ask(names('lossy', 300));
    const ok = rcodes.filter((r) => r === 0).length;
    expect(ok).toBeGreaterThanOrEqual(297);
    const sent = await b!.metric('ballast_upstream_queries_total');
    expect(sent / 300).toBeLessThanOrEqual(2);
    expect(await b!.metric('ballast_upstream_retransmissions_total')).toBeGreaterThan(0);
  });
});

describe('a busy client is not an abusive one (fair queuing)', () => {
  it('a client alone that sends 2,000 new names at once gets 2,000 answers and no REFUSED', async () => {
    // The client and the fake upstream run in worker threads (test/helpers/peer.ts): the burst's load, both ways, is
    // not on the event loop ballast answers on.
    const up = await WorkerUpstream.start(undefined, { delayMs: 0 });
    try {
      b = await startBallast({ upstream: { servers: [up.address], maxInflight: 200 } });
      const burst = names('burst', 2000);
      const msgs = burst.map((n, i) => buildQuery(n, A, { id: i }));
      const [answers] = await bulkInWorker(b.port, [{ from: '127.0.0.1', msgs }]);
      expect(answers.map((r) => (r === null ? 'timeout' : header(r).rcode))).toEqual(Array(2000).fill(0));
      await up.sync();
      expect(burst.filter((n) => up.count(n) !== 1)).toEqual([]); // each asked upstream once
    } finally {
      await up.close();
    }
  });

  it('while one client floods 10,000 new names, a second asking 50 new names/s gets every one answered', async () => {
    // Answers take 20 ms and 50 may be in flight: about 2,500/s of capacity, well under the flood. Real time would
    // measure how busy the machine is; so the upstream's 20 ms and ballast's timers run on one ManualClock, moved only
    // when the sockets are quiet (test/helpers/timeline.ts). The two clients and the upstream run in worker threads
    // (test/helpers/peer.ts): the flood's load is not on the event loop ballast answers on.
    const clock = new ManualClock();
    const up = await WorkerUpstream.start(clock, { delayMs: 20 });
    const peers: { close(): Promise<void> }[] = [up];
    try {
      b = await startBallast(
        { upstream: { servers: [up.address], maxInflight: 50 } },
        { clock, random: { float: () => 0.5, id16: seededRandom(3).id16 } },
      );
      const flooder = await WorkerClient.open(b.port, clock, '127.0.0.2');
      peers.push(flooder);
      const quiet = await WorkerClient.open(b.port, clock, '127.0.0.3');
      peers.push(quiet);
      const activity = () => up.moving + flooder.moving + quiet.moving;
      const sync = () => Promise.all([up.sync(), flooder.sync(), quiet.sync()]);
      const flooded = names('flood', 10_000);
      // In slices, so the kernel's receive buffer takes them all; all at virtual time 0.
      for (let i = 0; i < flooded.length; i += 250) {
        for (const n of flooded.slice(i, i + 250)) flooder.ask(n);
        await drive(clock, { stepMs: 1, forMs: 0, activity, sync });
      }
      const steady: Asked[] = [];
      const start = clock.now();
      await drive(clock, {
        stepMs: 20,
        forMs: 10_000,
        activity,
        sync,
        each: (t) =>
          steady.length < 100 && t - start >= 100 && steady.push(quiet.ask(`quiet${steady.length}.example.org`)),
        done: () => quiet.received === 100,
      });
      expect(steady.map((q) => q.rcode)).toEqual(Array(100).fill(0));
      // Each within three rounds of the upstream's 20 ms (one, unless the worker's send lands after a clock step
      // on a busy machine), not behind the 2,000 flood queries waiting before it (40 rounds, 800 ms).
      const waits = steady.map((q) => q.at! - q.sentAt);
      expect(waits.filter((w) => w < 20 || w > 60)).toEqual([]);
      // The flood is answered, every query of it: NOERROR, or REFUSED once its own lanes are full — never SERVFAIL.
      // On virtual time the split is exact.
      const rcodes = [...flooder.asked.values()].map((q) => q.rcode);
      expect(rcodes.filter((r) => r !== 0 && r !== 5)).toEqual([]);
      expect(rcodes.filter((r) => r === 0).length).toBe(2097);
      expect(rcodes.filter((r) => r === 5).length).toBe(7903);
    } finally {
      await Promise.all(peers.map((p) => p.close()));
    }
  });
});

describe('OPT is hop-by-hop (RFC 6891 §6.1.1)', () => {
  it('the upstream’s payload size and options never reach a client, fresh or cached', async () => {
    // Every answer from the upstream carries an OPT of its own: payload 4096, NSID "up", a cookie, option 65001.
    const options = Buffer.from([0, 3, 0, 2, 0x75, 0x70, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0xfd, 0xe9, 0, 1, 0xff]);
    await start({
      respond: (req) => {
        const res = Packet.createResponseFromRequest(req);
        res.answers.push(a(req.questions[0].name, '192.0.2.1', 60) as never);
        const bytes = res.toBuffer();
        const opt = Buffer.concat([Buffer.from([0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, options.length]), options]);
        const out = Buffer.concat([bytes, opt]);
        out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
        return out;
      },
    });
    for (const pass of ['fresh', 'cached']) {
      const edns = await query(b!.port, 'opt.example.org', A, { edns: 4096 });
      const opt = edns.raw.subarray(edns.raw.length - 11);
      expect(opt, pass).toEqual(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0])); // ballast's: 1232, no options
      expect(edns.raw.includes(options.subarray(0, 6)), pass).toBe(false);
      const plain = await query(b!.port, 'opt.example.org', A);
      expect(header(plain.raw).arcount, pass).toBe(0);
    }
    expect(upstream!.count('opt.example.org')).toBe(1);
  });
});
