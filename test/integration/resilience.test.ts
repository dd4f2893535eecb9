// docs/design.md §4's table, row by row, and every resilience timer, as timelines on an injected clock over real
// loopback sockets. Upstream answers arrive in real time; TTLs, timeouts and backoffs move only when
// the test advances the clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import { HOLD_JITTER } from '../../src/resolve/failures.js';
import { ManualClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, Packet, query } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const A = Packet.TYPE.A;
const EDNS = { edns: 1232 };
const EDE = (code: number) => Buffer.from([0, 15, 0, 2, 0, code]);

/**
 * One turn of the event loop's poll phase: a datagram already in a socket's queue when this is called has been read
 * when it resolves (setImmediate runs after the poll phase). No real time is waited for.
 */
const pendingIo = () => new Promise((r) => setImmediate(r));

describe('resilience timelines (docs/design.md §4)', () => {
  let upstream: FakeUpstream;
  let b: Running;
  let clock: ManualClock;
  // float() near 1: refresh points and probe delays land at the top of their ranges, so timelines are exact.
  const random = { float: () => 0.999, id16: systemRandom.id16 };
  /** A failure hold of nominal length `ms` under that random source: at the top of its ±25 % (resolve/failures.ts). */
  const hold = (ms: number) => Math.round(ms * (1 - HOLD_JITTER + 2 * HOLD_JITTER * 0.999));

  /** Names n20…n29 are kept for markers: each is asked once, as a miss. */
  let markers = 20;
  async function start(extra: Partial<ConfigInput> = {}) {
    markers = 20;
    clock = new ManualClock();
    upstream = await startFakeUpstream({
      records: Object.fromEntries(
        Array.from({ length: 30 }, (_, i) => [`n${i}.test/1`, [a(`n${i}.test`, `192.0.2.${i + 1}`, 10)]]),
      ),
    });
    b = await startBallast(
      { ...extra, upstream: { ...extra.upstream, servers: [upstream.address] } },
      { clock, random },
    );
  }
  afterEach(async () => {
    await b?.close();
    await upstream?.close();
  });

  /**
   * The positive marker for "ballast sent nothing": a later miss, asked through ballast and answered by the upstream.
   * Anything ballast sent upstream before it (a refresh it should not have started) reached the upstream's socket
   * first, so once the marker's answer is back and pending I/O is read, the upstream has counted it.
   */
  async function marker(): Promise<void> {
    const name = `n${markers++}.test`;
    expect((await query(b.port, name, A)).packet.answers[0].address).toBe(`192.0.2.${markers}`);
    expect(upstream.count(name)).toBe(1);
    await pendingIo();
  }

  const transitions = (state: string) => b.metric('ballast_upstream_health_transitions_total', { state });

  /**
   * The positive marker while the upstream is open, when ballast sends nothing but probes: moves the clock to the next
   * probe (at most 1.25 s after the last ended) and waits for it at the upstream. Anything ballast sent before it
   * arrived first, so the upstream has seen exactly `before` queries and then this probe, the zone's SOA.
   */
  async function nextProbeOnly(before: number): Promise<void> {
    const probing = await transitions('probing');
    clock.advance(1_250);
    expect(await transitions('probing')).toBe(probing + 1);
    await until(() => upstream.count() > before, 'the next probe');
    await pendingIo();
    expect(upstream.count()).toBe(before + 1);
    const last = upstream.queries[upstream.queries.length - 1];
    expect([last.name, last.type]).toEqual(['', Packet.TYPE.SOA]);
  }

  /**
   * Takes the upstream down for the root zone: it goes silent, so after upstream.health.silenceMs (1 s) with queries
   * out it is suspect, its probe gets no answer within 1 s, and it is open, 2 s in. Returns how far the clock moved.
   */
  async function takeUpstreamDown(name = 'd0.test'): Promise<number> {
    upstream.mode = 'blackhole';
    // Nobody waits for this miss: it fails at its deadline, whenever a test moves the clock that far.
    query(b.port, name, A, EDNS).catch(() => {});
    await until(() => upstream.count(name) === 1, 'the query to reach upstream');
    let elapsed = 0;
    const open = async () => {
      if ((await b.metric('ballast_upstream_health_state')) === 2) return true;
      if (elapsed > 10_000) throw new Error('upstream not open after 10 s on the clock');
      clock.advance(250);
      elapsed += 250;
      return false;
    };
    await until(open, 'the upstream to be marked down');
    return elapsed;
  }

  describe('fresh', () => {
    beforeEach(() => start());

    it('answers from cache; a hot entry past its jittered refresh point gets exactly one background refresh', async () => {
      await query(b.port, 'n1.test', A); // miss: stored with TTL 10, refresh point at 10 s × (0.75 + 0.2 × 0.999)
      await query(b.port, 'n1.test', A); // hit 1
      clock.advance(9_000); // 90 %: below the refresh point (94.98 %)
      await query(b.port, 'n1.test', A); // hit 2: hot, but not yet due
      await marker();
      expect(upstream.count('n1.test')).toBe(1);
      clock.advance(500); // 95 %: due
      const hit = await query(b.port, 'n1.test', A);
      expect(hit.packet.answers[0].ttl).toBe(1); // the client got the cached answer, not a wait
      await query(b.port, 'n1.test', A); // a second due hit does not start a second refresh
      await until(() => upstream.count('n1.test') === 2, 'one prefetch');
      await marker();
      expect(upstream.count('n1.test')).toBe(2);
      const refreshed = await query(b.port, 'n1.test', A);
      expect(refreshed.packet.answers[0].ttl).toBe(10);
      expect(await b.metric('ballast_refreshes_total', { kind: 'prefetch', result: 'success' })).toBe(1);
    });

    it('does not prefetch an entry hit only once in its lifetime', async () => {
      await query(b.port, 'n2.test', A);
      clock.advance(9_600);
      await query(b.port, 'n2.test', A); // one hit only
      await marker();
      expect(upstream.count('n2.test')).toBe(1);
      expect(await b.metric('ballast_refreshes_total', { kind: 'prefetch' })).toBe(0);
    });
  });

  describe('stale, upstream healthy', () => {
    // The query's deadline (4 s) is past the 1.8 s client response timer, so a silent upstream is still "slow",
    // not "failed", when the timer fires.
    beforeEach(() => start());

    it('refreshes and serves the fresh answer when it arrives within the client response timer', async () => {
      await query(b.port, 'n3.test', A);
      clock.advance(11_000);
      const r = await query(b.port, 'n3.test', A, EDNS);
      expect(r.packet.answers[0].ttl).toBe(10);
      expect(r.raw.includes(EDE(3))).toBe(false);
      expect(upstream.count('n3.test')).toBe(2);
    });

    it('serves the stale answer (TTL 30, EDE 3) when the client response timer (1.8 s) fires first', async () => {
      await query(b.port, 'n4.test', A);
      clock.advance(11_000);
      await query(b.port, 'n20.test', A); // fresh until 21 s: the marker below is answered from cache
      upstream.mode = 'blackhole';
      let answered = false;
      const pending = query(b.port, 'n4.test', A, EDNS);
      void pending.then(() => (answered = true));
      await until(() => upstream.count('n4.test') === 2, 'refresh sent');
      clock.advance(1_799);
      // The timer has not fired (it counts the stale answer when it does), and a later query's answer, from cache,
      // comes back while n4's client still has none.
      expect(await b.metric('ballast_stale_answers_total', { reason: 'client_timeout' })).toBe(0);
      expect((await query(b.port, 'n20.test', A)).packet.answers[0].address).toBe('192.0.2.21');
      await pendingIo();
      expect(answered).toBe(false);
      clock.advance(1);
      const r = await pending;
      expect(header(r.raw).rcode).toBe(0);
      expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.5', ttl: 30 });
      expect(r.raw.subarray(-6)).toEqual(EDE(3));
      expect(await b.metric('ballast_stale_answers_total', { reason: 'client_timeout' })).toBe(1);
    });

    it('a failed refresh leaves the entry in place and holds the key for the failure recheck time (30 s)', async () => {
      await query(b.port, 'n5.test', A);
      clock.advance(11_000);
      upstream.mode = 'servfail';
      const first = await query(b.port, 'n5.test', A, EDNS);
      expect(first.packet.answers[0]).toMatchObject({ address: '192.0.2.6', ttl: 30 });
      expect(await b.metric('ballast_stale_answers_total', { reason: 'refresh_failed' })).toBe(1);
      expect(upstream.count('n5.test')).toBe(2);
      clock.advance(hold(30_000) - 1_000);
      const held = await query(b.port, 'n5.test', A, EDNS);
      expect(held.packet.answers[0].address).toBe('192.0.2.6');
      expect(upstream.count('n5.test')).toBe(2); // not asked within the recheck time
      expect(await b.metric('ballast_failure_cache_hits_total')).toBe(1);
      upstream.mode = 'answer';
      clock.advance(1_000);
      const after = await query(b.port, 'n5.test', A);
      expect(upstream.count('n5.test')).toBe(3);
      expect(after.packet.answers[0].ttl).toBe(10);
    });

    it('REFUSED from upstream never replaces the cached answer', async () => {
      await query(b.port, 'n6.test', A);
      clock.advance(11_000);
      upstream.mode = 'refused';
      const r = await query(b.port, 'n6.test', A);
      expect(header(r.raw).rcode).toBe(0);
      expect(r.packet.answers[0].address).toBe('192.0.2.7');
    });
  });

  describe('upstream failing or open', () => {
    beforeEach(() => start());

    it('once it is down, serves stale at once and sends nothing', async () => {
      await query(b.port, 'n7.test', A);
      clock.advance(11_000);
      await takeUpstreamDown();
      const before = upstream.count();
      const r = await query(b.port, 'n7.test', A, EDNS);
      expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.8', ttl: 30 });
      expect(r.raw.subarray(-6)).toEqual(EDE(3));
      expect(await b.metric('ballast_stale_answers_total', { reason: 'upstream_down' })).toBe(1);
      await nextProbeOnly(before);
    });

    it('answers a miss with SERVFAIL and EDE 22 at once, without asking upstream', async () => {
      await takeUpstreamDown();
      const before = upstream.count();
      const r = await query(b.port, 'never-seen.test', A, EDNS);
      expect(header(r.raw).rcode).toBe(2);
      expect(r.raw.subarray(-6)).toEqual(EDE(22));
      await nextProbeOnly(before);
    });

    it('probes one at a time, each at a point in [0.75, 1.25] s after the last ended, and closes on an answer', async () => {
      await takeUpstreamDown();
      const probes = () => upstream.count();
      const base = probes();
      let expected = base;
      // float() = 0.999 puts each probe at the top of its window: 0.75 + 0.999 × 0.5 s after the last one failed.
      for (let n = 0; n < 8; n++) {
        const probing = await transitions('probing');
        clock.advance(1249);
        // The probe timer has not fired: entering "probing" is what it does first, before it sends.
        expect(await transitions('probing')).toBe(probing);
        clock.advance(1);
        expect(await transitions('probing')).toBe(probing + 1);
        expected++;
        await until(() => probes() >= expected, `probe ${expected - base}`);
        await pendingIo();
        expect(probes()).toBe(expected); // and nothing went out at 1249 ms
        // The probe waits its timeout (1 s before any answer taught the RTO), fails, and the route is open again.
        clock.advance(1_000);
        await until(async () => (await b.metric('ballast_upstream_health_state')) === 2, 'open again');
      }
      expect(await b.metric('ballast_upstream_probes_total', { result: 'failure' })).toBe(8 + 1);
      upstream.mode = 'answer';
      clock.advance(1_250);
      await until(async () => (await b.metric('ballast_upstream_health_state')) === 0, 'upstream closed');
      const r = await query(b.port, 'n8.test', A);
      expect(r.packet.answers[0].address).toBe('192.0.2.9');
    });

    it('probes ask the zone’s SOA, never a name: not the names that failed, not one answered before', async () => {
      await query(b.port, 'n0.test', A);
      await takeUpstreamDown('dead.test');
      upstream.mode = 'answer';
      // To the next probe, in steps; then the clock stands still while its real answer arrives, before its timeout.
      const probing = await transitions('probing');
      while ((await transitions('probing')) === probing) clock.advance(100);
      await until(async () => (await b.metric('ballast_upstream_health_state')) === 0, 'the probe answered');
      const probed = upstream.queries.slice(upstream.queries.findIndex((q) => q.name === 'dead.test'));
      // The query and its own three retransmissions, all on the injected clock.
      expect(probed.filter((q) => q.name === 'dead.test').length).toBe(4);
      const probes = probed.filter((q) => q.name !== 'dead.test');
      // Two probes: the one sent at once on suspicion (it failed: open), and the one answered (closed).
      expect(probes.length).toBe(2);
      for (const q of probes) expect([q.name, q.type]).toEqual(['', Packet.TYPE.SOA]);
    });

    it('an upstream that answers SERVFAIL to ≥ 90 % of ≥ 20 distinct names from ≥ 3 domains, and to its probe, is marked down', async () => {
      upstream.mode = 'servfail';
      for (let i = 0; i < 20; i++) {
        const r = await query(b.port, `sf${i}.d${i % 4}.test`, A);
        expect(header(r.raw).rcode).toBe(2);
      }
      await until(async () => (await b.metric('ballast_upstream_health_state')) === 2, 'upstream open');
      const before = upstream.count();
      const r = await query(b.port, 'sf-next.test', A, EDNS);
      expect(r.raw.subarray(-6)).toEqual(EDE(22));
      await nextProbeOnly(before);
    });

    it('one name failing again and again does not mark the upstream down', async () => {
      upstream.set('bad.test', A, []);
      upstream.mode = 'servfail';
      for (let i = 0; i < 12; i++) {
        await query(b.port, 'bad.test', A);
        clock.advance(400_000); // past any failure-cache hold
      }
      expect(await b.metric('ballast_upstream_health_state')).toBe(0);
    });
  });

  describe('no entry, upstream healthy', () => {
    beforeEach(() => start());

    it('caches the failure: SERVFAIL without an upstream query for 5 s, then 10 s after a second failure', async () => {
      upstream.mode = 'servfail';
      expect(header((await query(b.port, 'fc.test', A)).raw).rcode).toBe(2);
      expect(upstream.count('fc.test')).toBe(1);
      clock.advance(hold(5_000) - 1);
      expect(header((await query(b.port, 'fc.test', A, EDNS)).raw).rcode).toBe(2);
      expect(upstream.count('fc.test')).toBe(1);
      clock.advance(1);
      await query(b.port, 'fc.test', A); // asked again: fails again → hold doubles to 10 s
      expect(upstream.count('fc.test')).toBe(2);
      clock.advance(hold(10_000) - 1);
      await query(b.port, 'fc.test', A);
      expect(upstream.count('fc.test')).toBe(2);
      upstream.mode = 'answer';
      upstream.set('fc.test', A, [a('fc.test', '192.0.2.200', 10)]);
      clock.advance(1);
      const ok = await query(b.port, 'fc.test', A);
      expect(ok.packet.answers[0].address).toBe('192.0.2.200');
    });

    it('1,000 concurrent identical queries for an uncached name make exactly one upstream query', async () => {
      upstream.set('herd.test', A, [a('herd.test', '192.0.2.250', 60)]);
      upstream.mode = 'hold'; // the upstream answers only once all 1,000 clients are waiting
      const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
      const pending: ReturnType<typeof query>[] = [];
      for (const id of ids) {
        pending.push(query(b.port, 'herd.test', A, { id }));
        if (id % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      await until(async () => (await b.metric('ballast_coalesced_queries_total')) === 999, '999 waiters');
      upstream.release();
      const answers = await Promise.all(pending);
      expect(upstream.count('herd.test')).toBe(1);
      expect(answers.map((r) => header(r.raw).id)).toEqual(ids);
      for (const r of answers) expect(r.packet.answers[0].address).toBe('192.0.2.250');
    });
  });

  describe('stale answers', () => {
    it('a stale NXDOMAIN carries EDE 19 and the stale TTL', async () => {
      await start();
      await query(b.port, 'gone.test', A); // NXDOMAIN, negative TTL min(60, 30) = 30 s
      clock.advance(31_000);
      await takeUpstreamDown();
      const r = await query(b.port, 'gone.test', A, EDNS);
      expect(header(r.raw).rcode).toBe(3);
      expect(r.packet.authorities[0].ttl).toBe(30);
      expect(r.raw.subarray(-6)).toEqual(EDE(19));
    });

    it('a client without EDNS gets the stale answer without an OPT record', async () => {
      await start({ stale: { answerTtlSeconds: 7 } });
      await query(b.port, 'n9.test', A);
      clock.advance(11_000);
      await takeUpstreamDown();
      const r = await query(b.port, 'n9.test', A);
      expect(header(r.raw).arcount).toBe(0);
      expect(r.packet.answers[0].ttl).toBe(7);
    });

    it('entries are not served past stale.maxAgeSeconds', async () => {
      await start({ stale: { maxAgeSeconds: 60 } });
      await query(b.port, 'n10.test', A);
      clock.advance(10_000 + 50_000);
      const moved = await takeUpstreamDown();
      clock.advance(10_000 - moved - 1); // 59.999 s past expiry
      expect(header((await query(b.port, 'n10.test', A)).raw).rcode).toBe(0);
      clock.advance(1);
      expect(header((await query(b.port, 'n10.test', A)).raw).rcode).toBe(2);
    });

    it('with keepPastMaxAgeWhileDown, they are served past it while the zone is down', async () => {
      await start({ stale: { maxAgeSeconds: 60, keepPastMaxAgeWhileDown: true } });
      await query(b.port, 'n11.test', A);
      clock.advance(11_000);
      await takeUpstreamDown();
      clock.advance(120_000); // far past maxAge, and the upstream is still down (its probes fail)
      const r = await query(b.port, 'n11.test', A);
      expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.12', ttl: 30 });
    });
  });

  describe('fair queuing (capacity contended)', () => {
    it('a miss waits its turn; a stale entry is served at once; a full queue is REFUSED with an EDE', async () => {
      await start({ upstream: { servers: [], maxInflight: 1 }, fairness: { queues: 1, handSize: 1, queueLength: 1 } });
      await query(b.port, 'n12.test', A);
      clock.advance(11_000); // n12 is stale now
      upstream.mode = 'hold';
      const first = query(b.port, 'n13.test', A); // takes the one slot
      await until(() => upstream.count('n13.test') === 1, 'first query upstream');
      const second = query(b.port, 'n14.test', A); // waits in the queue
      await until(async () => (await b.metric('ballast_fair_queue_waiting')) === 1, 'n14 waiting in the queue');
      expect(upstream.count('n14.test')).toBe(0);
      const refused = await query(b.port, 'n15.test', A, EDNS); // the queue is full
      expect(header(refused.raw).rcode).toBe(5);
      expect(refused.raw.includes(Buffer.from('client queue full'))).toBe(true);
      const stale = await query(b.port, 'n12.test', A, EDNS); // no capacity for a refresh: stale at once
      expect(stale.packet.answers[0]).toMatchObject({ address: '192.0.2.13', ttl: 30 });
      expect(await b.metric('ballast_stale_answers_total', { reason: 'busy' })).toBe(1);
      upstream.release();
      expect(header((await first).raw).rcode).toBe(0);
      await until(() => upstream.count('n14.test') === 1, 'the waiting query sent once the slot freed');
      upstream.release();
      expect((await second).packet.answers[0].address).toBe('192.0.2.15');
    });
  });
});
