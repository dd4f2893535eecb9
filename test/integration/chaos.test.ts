// Fault injection over the admin API (docs/design.md §9), through ballast over real sockets, on an injected clock.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigInput, validate } from '../../src/config/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { systemRandom } from '../../src/util/random.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query, udpBulk } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const A = Packet.TYPE.A;
const EDNS = { edns: 1232 };

describe('chaos', () => {
  let upstream: FakeUpstream | undefined;
  let b: Running | undefined;
  let clock: ManualClock;
  afterEach(async () => {
    await b?.close();
    await upstream?.close();
    [b, upstream] = [undefined, undefined];
  });

  async function start(extra: Partial<ConfigInput> = {}) {
    clock = new ManualClock();
    upstream = await startFakeUpstream({
      records: Object.fromEntries(
        ['one.a.test', 'two.a.test', 'one.b.test', ...Array.from({ length: 12 }, (_, i) => `m${i}.a.test`)].map(
          (n, i) => [`${n}/1`, [a(n, `192.0.2.${i + 1}`, 10)]],
        ),
      ),
    });
    b = await startBallast(
      { zones: [{ name: 'b.test', servers: [upstream.address] }], ...extra, upstream: { servers: [upstream.address] } },
      { clock, random: { float: () => 0.999, id16: systemRandom.id16 } },
    );
    return b;
  }

  /** Waits for the fault to hold a query: its delay is the earliest timer on the clock, due `ms` from now. */
  const delayStarted = (ms: number) =>
    until(() => clock.nextAt === clock.now() + ms, `the fault to delay the query by ${ms} ms`);

  // Every chaos endpoint needs the bearer token, on loopback too: the API calls below send it unless told otherwise.
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'ballast-token-')), 'token');
  writeFileSync(tokenFile, 's3cret\n');
  const auth = { authorization: 'Bearer s3cret' };
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
    fetch(`http://127.0.0.1:${b!.adminPort}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it('chaos off: every endpoint refuses and nothing changes', async () => {
    await start();
    for (const [method, path] of [
      ['GET', '/chaos/faults'],
      ['POST', '/chaos/faults'],
      ['DELETE', '/chaos/faults'],
      ['GET', '/chaos/names'],
    ]) {
      const r = await api(method, path, method === 'POST' ? { kind: 'blackhole', durationSeconds: 10 } : undefined);
      expect(r.status).toBe(403);
      expect(r.body.error).toContain('chaos.enabled');
    }
    const ok = await query(b!.port, 'one.a.test', A);
    expect(header(ok.raw).rcode).toBe(0);
    expect(upstream!.count('one.a.test')).toBe(1);
  });

  describe('chaos on', () => {
    const on = { chaos: { enabled: true, maxDurationSeconds: 300, tokenFile } };

    it('rejects a bad fault naming the field; lists, ends by itself after its duration, and can be cleared', async () => {
      await start(on);
      expect((await api('POST', '/chaos/faults', { kind: 'meteor', durationSeconds: 5 })).body.error).toContain('kind');
      const long = await api('POST', '/chaos/faults', { kind: 'blackhole', durationSeconds: 301 });
      expect(long.status).toBe(400);
      expect(long.body.error).toContain('durationSeconds: got 301');
      expect((await api('POST', '/chaos/faults', { kind: 'delay', durationSeconds: 5 })).body.error).toContain(
        'delayMs',
      );
      const f = await api('POST', '/chaos/faults', { kind: 'servfail', durationSeconds: 30 });
      expect(f.status).toBe(201);
      expect(await b!.metric('ballast_chaos_faults_active', { kind: 'servfail' })).toBe(1);
      expect((await api('GET', '/chaos/faults')).body.faults).toHaveLength(1);
      clock.advance(29_999);
      expect((await api('GET', '/chaos/faults')).body.faults).toHaveLength(1);
      clock.advance(1);
      expect((await api('GET', '/chaos/faults')).body.faults).toHaveLength(0);
      expect(await b!.metric('ballast_chaos_faults_active', { kind: 'servfail' })).toBe(0);
      await api('POST', '/chaos/faults', { kind: 'refused', durationSeconds: 30 });
      expect((await api('DELETE', '/chaos/faults')).body.cleared).toBe(1);
    });

    it('blackhole: misses time out, stale answers are served, the breaker opens; the fault ends by itself', async () => {
      await start(on);
      await query(b!.port, 'one.a.test', A);
      clock.advance(11_000); // stale now
      await api('POST', '/chaos/faults', { kind: 'blackhole', durationSeconds: 60 });
      const sent = await b!.metric('ballast_upstream_queries_total');
      const misses = Array.from({ length: 5 }, (_, i) => query(b!.port, `m${i}.a.test`, A));
      await until(async () => (await b!.metric('ballast_upstream_queries_total')) >= sent + 5, 'five attempts');
      clock.advance(4_000); // silence (1 s) and a probe that gets nothing (1 s): down, and the misses end
      for (const r of await Promise.all(misses)) expect(header(r.raw).rcode).toBe(2);
      expect(await b!.metric('ballast_upstream_health_state')).toBe(2);
      expect(upstream!.count('m0.a.test')).toBe(0); // swallowed before the wire
      const stale = await query(b!.port, 'one.a.test', A, EDNS);
      expect(stale.packet.answers[0]).toMatchObject({ address: '192.0.2.1', ttl: 30 });
      expect(await b!.metric('ballast_stale_answers_total', { reason: 'upstream_down' })).toBe(1);
      clock.advance(60_000); // the fault is over; the next probe gets through
      // Time moves until the next probe is on the wire, then stands still while its real answer comes back.
      const asked = upstream!.queries.length;
      const probeSent = () => {
        if (upstream!.queries.length > asked) return true;
        clock.advance(100);
        return false;
      };
      await until(probeSent, 'a probe to reach the upstream');
      await until(
        async () => (await b!.metric('ballast_upstream_health_state')) === 0,
        'the probe to close the circuit',
      );
      expect((await api('GET', '/chaos/faults')).body.faults).toHaveLength(0);
    });

    it('servfail: SERVFAIL for a miss, stale for a cached name; SERVFAIL to 20 names in 4 domains and the probe marks it down', async () => {
      await start(on);
      await query(b!.port, 'one.a.test', A);
      clock.advance(11_000);
      await api('POST', '/chaos/faults', { kind: 'servfail', durationSeconds: 120 });
      const stale = await query(b!.port, 'one.a.test', A, EDNS);
      expect(stale.packet.answers[0]).toMatchObject({ address: '192.0.2.1', ttl: 30 });
      for (let i = 0; i < 20; i++) expect(header((await query(b!.port, `m${i}.d${i % 4}.test`, A)).raw).rcode).toBe(2);
      await until(async () => (await b!.metric('ballast_upstream_health_state')) === 2, 'upstream open');
      expect(upstream!.count()).toBe(1); // only the first, real query
    });

    it('refused: passed to the client; for names in many domains it is overload, not death: the in-flight window halves, the upstream stays up', async () => {
      await start(on);
      await api('POST', '/chaos/faults', { kind: 'refused', durationSeconds: 60 });
      // Ten names of one domain: that domain's policy, as far as ballast can tell; the window does not move.
      for (let i = 0; i < 10; i++) expect(header((await query(b!.port, `m${i}.a.test`, A)).raw).rcode).toBe(5);
      expect(await b!.metric('ballast_upstream_inflight_limit')).toBe(1000);
      // Names in three more domains: the upstream is shedding load.
      for (let i = 0; i < 6; i++) expect(header((await query(b!.port, `x${i}.d${i % 3}.test`, A)).raw).rcode).toBe(5);
      expect(await b!.metric('ballast_upstream_health_state')).toBe(0);
      expect(await b!.metric('ballast_upstream_inflight_limit')).toBe(500);
    });

    it('lame: the same share of names never answers; the rest do, and the upstream stays up', async () => {
      await start(on);
      await api('POST', '/chaos/faults', { kind: 'lame', percent: 50, durationSeconds: 60 });
      const names = Array.from({ length: 20 }, (_, i) => `m${i}.a.test`);
      // Which names are lame is fixed, a hash of the name against the 50 % (chaos/interceptor.ts lameShare): the lame
      // ones get SERVFAIL at the deadline, the others NOERROR, or NXDOMAIN for m12…m19.
      const expected = [0, 2, 2, 2, 2, 0, 0, 0, 2, 2, 0, 2, 3, 3, 3, 3, 2, 2, 3, 2];
      const sent = await b!.metric('ballast_upstream_queries_total');
      const rcodes: (number | undefined)[] = names.map(() => undefined);
      const replies = names.map((n, i) => query(b!.port, n, A).then((r) => (rcodes[i] = header(r.raw).rcode)));
      await until(async () => (await b!.metric('ballast_upstream_queries_total')) >= sent + 20, 'twenty attempts');
      // The names that are not lame reach the upstream and are answered in real time, before the clock moves.
      await until(() => expected.every((rc, i) => rc === 2 || rcodes[i] !== undefined), 'the upstream to answer');
      expect(names.map((n) => upstream!.count(n))).toEqual(expected.map((rc) => (rc === 2 ? 0 : 1)));
      // The lame ones wait for their deadline on the clock. After each step, a probe the timeouts sent (the upstream
      // is suspect) has its real answer before the clock moves on.
      for (let i = 0; i < 20; i++) {
        clock.advance(250);
        await until(async () => (await b!.metric('ballast_upstream_health_state')) === 0, 'the probe to be answered');
      }
      await Promise.all(replies);
      expect(rcodes).toEqual(expected);
      expect(await b!.metric('ballast_upstream_health_state')).toBe(0); // the probe (the zone's SOA) is answered
      expect(upstream!.count()).toBe(10 + 1); // the ten names that are not lame, and one probe
    });

    it('overload: REFUSED above the concurrency, answers below it', async () => {
      await start(on);
      const f = await api('POST', '/chaos/faults', { kind: 'overload', concurrency: 0, durationSeconds: 60 });
      expect(f.status, JSON.stringify(f.body)).toBe(201);
      expect(header((await query(b!.port, 'two.a.test', A)).raw).rcode).toBe(5);
      await api('DELETE', '/chaos/faults');
      await api('POST', '/chaos/faults', { kind: 'overload', concurrency: 5, durationSeconds: 60 });
      expect(header((await query(b!.port, 'one.a.test', A)).raw).rcode).toBe(0);
      // The refused name stays REFUSED while its failure is held (RFC 9520), the same answer each time.
      expect(header((await query(b!.port, 'two.a.test', A)).raw).rcode).toBe(5);
    });

    it('slow and loss: answers still come (later, or after a retransmission)', async () => {
      await start(on);
      await api('POST', '/chaos/faults', { kind: 'slow', delayMs: 400, spreadMs: 0, durationSeconds: 60 });
      const slow = query(b!.port, 'two.a.test', A);
      await delayStarted(400);
      clock.advance(400);
      expect((await slow).packet.answers[0].address).toBe('192.0.2.2');
      await api('DELETE', '/chaos/faults');
      // random 0.999 is above any share below 99.9 %: with percent 50 nothing is lost, with 100 everything is.
      await api('POST', '/chaos/faults', { kind: 'loss', percent: 50, durationSeconds: 60 });
      expect((await query(b!.port, 'one.a.test', A)).packet.answers[0].address).toBe('192.0.2.1');
    });

    it('delay: answers arrive after the delay', async () => {
      await start(on);
      await api('POST', '/chaos/faults', { kind: 'delay', delayMs: 300, durationSeconds: 60 });
      const pending = query(b!.port, 'two.a.test', A);
      await delayStarted(300);
      expect(upstream!.count('two.a.test')).toBe(0);
      clock.advance(300);
      const r = await pending;
      expect(r.packet.answers[0].address).toBe('192.0.2.2');
      expect(upstream!.count('two.a.test')).toBe(1);
    });

    it('nxdomain and nodata: wrong negatives with the zone SOA; a cached name keeps its last known good answer', async () => {
      await start(on);
      await query(b!.port, 'one.a.test', A); // positive, TTL 10
      clock.advance(11_000); // stale
      await api('POST', '/chaos/faults', { kind: 'nxdomain', durationSeconds: 60 });
      const kept = await query(b!.port, 'one.a.test', A, EDNS);
      expect(kept.packet.answers[0]).toMatchObject({ address: '192.0.2.1', ttl: 30 });
      expect(kept.raw.includes(Buffer.from('last known good; upstream said NXDOMAIN'))).toBe(true);
      const fresh = await query(b!.port, 'never.a.test', A);
      expect(header(fresh.raw).rcode).toBe(3);
      expect(fresh.packet.authorities[0]).toMatchObject({ type: Packet.TYPE.SOA, ttl: 5 });
      expect(upstream!.count('never.a.test')).toBe(0); // answered by the fault, where the network would be
      await api('DELETE', '/chaos/faults');
      await api('POST', '/chaos/faults', { kind: 'nodata', durationSeconds: 60 });
      const nodata = await query(b!.port, 'other.a.test', A);
      expect([header(nodata.raw).rcode, header(nodata.raw).ancount]).toEqual([0, 0]);
      expect(nodata.packet.authorities[0]).toMatchObject({ type: Packet.TYPE.SOA });
    });

    it('mixed: the given percentage of answers is NXDOMAIN (random draw 0.999: 100 % all, 50 % none)', async () => {
      await start(on);
      const half = await api('POST', '/chaos/faults', { kind: 'mixed', percent: 50, durationSeconds: 60 });
      expect(half.status, JSON.stringify(half.body)).toBe(201);
      expect(header((await query(b!.port, 'two.a.test', A)).raw).rcode).toBe(0);
      await api('DELETE', `/chaos/faults/${half.body.id}`);
      await api('POST', '/chaos/faults', { kind: 'mixed', percent: 100, durationSeconds: 60 });
      expect(header((await query(b!.port, 'm1.a.test', A)).raw).rcode).toBe(3);
    });

    it('drop: the given percentage of exchanges is swallowed (random draw 0.999: 100 % drops, 50 % passes)', async () => {
      await start(on);
      const half = await api('POST', '/chaos/faults', { kind: 'drop', percent: 50, durationSeconds: 60 });
      expect(header((await query(b!.port, 'two.a.test', A)).raw).rcode).toBe(0);
      await api('DELETE', `/chaos/faults/${half.body.id}`);
      await api('POST', '/chaos/faults', { kind: 'drop', percent: 100, durationSeconds: 60 });
      const sent = await b!.metric('ballast_upstream_queries_total');
      const dropped = query(b!.port, 'm0.a.test', A);
      await until(async () => (await b!.metric('ballast_upstream_queries_total')) > sent, 'the attempt');
      clock.advance(4_000);
      expect(header((await dropped).raw).rcode).toBe(2);
      expect(upstream!.count('m0.a.test')).toBe(0);
    });

    it('a fault scoped to a zone leaves other zones alone', async () => {
      await start(on);
      await api('POST', '/chaos/faults', { kind: 'servfail', zone: 'b.test', durationSeconds: 60 });
      expect(header((await query(b!.port, 'one.b.test', A)).raw).rcode).toBe(2);
      expect(header((await query(b!.port, 'two.a.test', A)).raw).rcode).toBe(0);
    });

    it('lists cached names for the drill', async () => {
      await start(on);
      await query(b!.port, 'one.a.test', A);
      await query(b!.port, 'two.a.test', A);
      const r = await api('GET', '/chaos/names?limit=1');
      expect(r.body.names).toEqual([{ name: 'two.a.test', type: 1 }]);
    });
  });

  describe('the admin port', () => {
    it('chaos endpoints need the bearer token from chaos.tokenFile, on loopback too', async () => {
      await start({ chaos: { enabled: true, tokenFile } });
      const spec = { kind: 'blackhole', durationSeconds: 5 };
      expect((await api('POST', '/chaos/faults', spec, {})).status).toBe(401);
      expect((await api('GET', '/chaos/names', undefined, {})).status).toBe(401); // cached names are private too
      expect((await api('POST', '/chaos/faults', spec, { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await api('POST', '/chaos/faults', spec)).status).toBe(201);
      // The ordinary endpoints stay open.
      expect((await fetch(`http://127.0.0.1:${b!.adminPort}/ready`)).status).toBe(200);
    });

    it('chaos enabled without a token file fails at load, naming the key', () => {
      expect(() => validate({ chaos: { enabled: true } })).toThrow(/chaos\.tokenFile: .*required when chaos\.enabled/);
    });

    it('/metrics, /health and /ready reveal no queried name and no client address', async () => {
      await start({ chaos: { enabled: true, tokenFile } });
      await query(b!.port, 'one.a.test', A);
      const [r] = await udpBulk(b!.port, [buildQuery('secret-name.a.test', A, { id: 1 })], { from: '127.0.0.77' });
      expect(r.answer).not.toBeNull();
      for (const path of ['/metrics', '/health', '/ready']) {
        const text = await (await fetch(`http://127.0.0.1:${b!.adminPort}${path}`)).text();
        for (const secret of ['one.a.test', 'secret-name', '127.0.0.77']) expect(text, path).not.toContain(secret);
      }
    });
  });
});
