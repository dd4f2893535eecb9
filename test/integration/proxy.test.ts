import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query, tcpExchange, tcpQuery } from '../helpers/client.js';
import { WorkerClient } from '../helpers/peer.js';
import { a, type FakeUpstream, NEGATIVE_SOA_MINIMUM, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const T = Packet.TYPE;
const bigTxt = Array.from({ length: 8 }, (_, i) => `chunk${i}-${'x'.repeat(90)}`);

describe('caching proxy over real sockets', () => {
  let upstream: FakeUpstream;
  let b: Running;
  const clock = new ManualClock();

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      records: {
        'www.example.test/1': [a('www.example.test', '192.0.2.10', 300)],
        'mixed.example.test/1': [a('mixed.example.test', '192.0.2.11', 300)],
        'tcp.example.test/1': [a('tcp.example.test', '192.0.2.12', 300)],
        'big.example.test/16': [{ type: T.TXT, class: 1, ttl: 300, data: bigTxt }],
        'nodata.example.test/1': [a('nodata.example.test', '192.0.2.13', 300)],
      },
      zone: 'example.test',
    });
    b = await startBallast({ upstream: { servers: [upstream.address] } }, { clock });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  it('forwards a miss, then answers from cache with aged TTLs and one upstream query', async () => {
    const first = await query(b.port, 'www.example.test', T.A, { id: 4242 });
    expect(header(first.raw)).toMatchObject({ id: 4242, qr: true, rcode: 0, ancount: 1 });
    expect(first.packet.answers[0]).toMatchObject({ address: '192.0.2.10', ttl: 300 });

    clock.advance(7_000);
    const second = await query(b.port, 'www.example.test', T.A, { id: 777 });
    expect(header(second.raw).id).toBe(777);
    expect(second.packet.answers[0]).toMatchObject({ address: '192.0.2.10', ttl: 293 });
    expect(upstream.count('www.example.test')).toBe(1);
    expect(await b.metric('ballast_cache_hits_total', { state: 'fresh' })).toBeGreaterThanOrEqual(1);
  });

  it('goes upstream again once the entry expires', async () => {
    await query(b.port, 'www.example.test', T.A);
    const before = upstream.count('www.example.test');
    clock.advance(301_000);
    const again = await query(b.port, 'www.example.test', T.A);
    expect(again.packet.answers[0].ttl).toBe(300);
    expect(upstream.count('www.example.test')).toBe(before + 1);
  });

  it('keeps the client question case and ID, and shares one entry across cases', async () => {
    const lower = await query(b.port, 'mixed.example.test', T.A);
    const upper = await query(b.port, 'MiXeD.ExAmPlE.tEsT', T.A, { id: 1234 });
    expect(header(upper.raw).id).toBe(1234);
    expect(upper.packet.questions[0].name).toBe('MiXeD.ExAmPlE.tEsT');
    // The question bytes are the client's own.
    expect(upper.raw.subarray(12, upper.sent.length)).toEqual(upper.sent.subarray(12));
    expect(lower.packet.answers[0].address).toBe('192.0.2.11');
    expect(upstream.count('mixed.example.test')).toBe(1);
  });

  it('caches NXDOMAIN for the SOA-derived time with the SOA in authority', async () => {
    const first = await query(b.port, 'nope.example.test', T.A, { edns: 1232 });
    expect(header(first.raw).rcode).toBe(3);
    expect(first.packet.authorities[0]).toMatchObject({ type: T.SOA, ttl: NEGATIVE_SOA_MINIMUM });
    clock.advance(10_000);
    const cached = await query(b.port, 'nope.example.test', T.A, { edns: 1232 });
    expect(header(cached.raw).rcode).toBe(3);
    expect(cached.packet.authorities[0].ttl).toBe(NEGATIVE_SOA_MINIMUM - 10);
    expect(upstream.count('nope.example.test')).toBe(1);
    clock.advance((NEGATIVE_SOA_MINIMUM - 10) * 1000);
    await query(b.port, 'nope.example.test', T.A, { edns: 1232 });
    expect(upstream.count('nope.example.test')).toBe(2);
  });

  it('caches NODATA (name exists, no record of the type) per RFC 2308', async () => {
    const first = await query(b.port, 'nodata.example.test', T.AAAA);
    expect(header(first.raw)).toMatchObject({ rcode: 0, ancount: 0, nscount: 1 });
    await query(b.port, 'nodata.example.test', T.AAAA);
    expect(upstream.queries.filter((q) => q.name === 'nodata.example.test' && q.type === T.AAAA)).toHaveLength(1);
  });

  it('answers over TCP, pipelined, on one connection', async () => {
    const msgs = [buildQuery('tcp.example.test', T.A, { id: 1 }), buildQuery('www.example.test', T.A, { id: 2 })];
    const answers = await tcpExchange(b.port, msgs);
    expect(answers.map((r) => header(r).id).sort()).toEqual([1, 2]);
    const tcp = answers.find((r) => header(r).id === 1)!;
    expect(Packet.parse(tcp).answers[0].address).toBe('192.0.2.12');
  });

  it('truncates a large answer for a UDP client without EDNS, and serves it whole over TCP', async () => {
    const udp = await query(b.port, 'big.example.test', T.TXT);
    expect(header(udp.raw)).toMatchObject({ tc: true, ancount: 0, qdcount: 1 });
    expect(udp.raw.length).toBeLessThanOrEqual(512);
    const tcp = await tcpQuery(b.port, 'big.example.test', T.TXT);
    expect(header(tcp.raw).tc).toBe(false);
    expect(tcp.raw.length).toBeGreaterThan(512);
    expect([tcp.packet.answers[0]?.data].flat().join('')).toBe(bigTxt.join(''));
    const edns = await query(b.port, 'big.example.test', T.TXT, { edns: 4096 });
    expect(header(edns.raw).tc).toBe(false);
  });

  it('coalesces concurrent identical misses into one upstream query', async () => {
    upstream.set('herd.example.test', T.A, [a('herd.example.test', '192.0.2.99', 60)]);
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    const answers = await Promise.all(ids.map((id) => query(b.port, 'herd.example.test', T.A, { id })));
    expect(upstream.count('herd.example.test')).toBe(1);
    expect(answers.map((r) => header(r.raw).id)).toEqual(ids);
    for (const r of answers) expect(r.packet.answers[0].address).toBe('192.0.2.99');
  });

  it('serves /metrics, /health and /ready on the admin port', async () => {
    const base = `http://127.0.0.1:${b.adminPort}`;
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(metrics).toContain('ballast_requests_total{protocol="udp",qtype="A"}');
    expect(metrics).toContain('ballast_process_cpu_seconds_total');
    // The admin server's event-loop sampler (src/observe/loop-delay.ts), under prom-client's names.
    expect(metrics).toContain('ballast_nodejs_eventloop_lag_p99_seconds 0');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('answers SERVFAIL with an EDE when the upstream does not answer, and keeps serving the cache', async () => {
    upstream.mode = 'blackhole';
    try {
      const pending = query(b.port, 'dark.example.test', T.A, { edns: 1232 });
      await until(() => upstream.count('dark.example.test') >= 1, 'the query to reach the upstream');
      clock.advance(4_000); // upstream.deadlineMs
      const r = await pending;
      expect(header(r.raw).rcode).toBe(2);
      const opt = r.packet.additionals.find((x: { type: number }) => x.type === T.EDNS);
      expect(opt).toBeDefined();
      expect(r.raw.subarray(-6)).toEqual(Buffer.from([0, 15, 0, 2, 0, 22]));
      const cached = await query(b.port, 'tcp.example.test', T.A);
      expect(cached.packet.answers[0].address).toBe('192.0.2.12');
    } finally {
      upstream.mode = 'answer';
    }
  });
});

describe('bad input', () => {
  let upstream: FakeUpstream;
  let b: Running;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ records: { 'ok.test/1': [a('ok.test', '192.0.2.1')] } });
    b = await startBallast({ upstream: { servers: [upstream.address] } });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  const good = () => buildQuery('ok.test', T.A, { id: 99 });
  const withHeader = (mutate: (m: Buffer) => void) => {
    const m = good();
    mutate(m);
    return m;
  };
  const nameOf = (labels: number[][]) =>
    Buffer.concat([...labels.map((l) => Buffer.from([l.length, ...l])), Buffer.from([0])]);
  const raw = (qname: Buffer, qdcount = 1) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(7, 0);
    h.writeUInt16BE(0x0100, 2);
    h.writeUInt16BE(qdcount, 4);
    return Buffer.concat([h, qname, Buffer.from([0, 1, 0, 1])]);
  };

  const cases: [string, () => Buffer, 'drop' | number][] = [
    ['truncated header', () => good().subarray(0, 7), 'drop'],
    ['QR=1 (a response)', () => withHeader((m) => (m[2] |= 0x80)), 'drop'],
    ['opcode STATUS', () => withHeader((m) => (m[2] = (m[2] & 0x87) | (2 << 3))), 4],
    ['QDCOUNT 0', () => withHeader((m) => m.writeUInt16BE(0, 4)), 1],
    ['QDCOUNT 2', () => withHeader((m) => m.writeUInt16BE(2, 4)), 1],
    ['compression loop in the question', () => raw(Buffer.from([0xc0, 12])), 'drop'],
    ['forward pointer in the question', () => raw(Buffer.from([0xc0, 40])), 'drop'],
    ['label longer than 63', () => raw(nameOf([Array(64).fill(0x61)])), 'drop'],
    // Well-formed labels, 305 octets: a format error (docs/conformance.md), answered without its question.
    ['name longer than 255', () => raw(nameOf(Array.from({ length: 5 }, () => Array(60).fill(0x61)))), 1],
    // Ignored, as BIND and Unbound ignore them: the query is answered.
    ['trailing garbage', () => Buffer.concat([good(), Buffer.from([1, 2, 3])]), 0],
  ];

  /**
   * Sends `msg` from one socket and, once ballast has accounted for it (answered or dropped, in its metrics), a good
   * query (ID 0x4242) from the same socket. Returns every datagram back, in order, once the good one's answer is in:
   * ballast handles one socket's datagrams in order, so a reply to `msg` would have come first. No waiting for
   * silence decides that a datagram was dropped.
   */
  async function thenGood(msg: Buffer): Promise<Buffer[]> {
    const accounted = async () =>
      (await b.metric('ballast_dropped_queries_total')) + (await b.metric('ballast_responses_total'));
    const before = await accounted();
    const s = createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    try {
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      s.send(msg, b.port, '127.0.0.1');
      await until(async () => (await accounted()) > before, 'ballast to account for the datagram');
      s.send(buildQuery('ok.test', T.A, { id: 0x4242 }), b.port, '127.0.0.1');
      await until(() => got.some((m) => m.readUInt16BE(0) === 0x4242), 'the good query answered');
      return got;
    } finally {
      s.close();
    }
  }

  for (const [name, make, expected] of cases) {
    it(`${name} → ${expected === 'drop' ? 'dropped' : `rcode ${expected}`}, and the next query is answered`, async () => {
      const got = await thenGood(make());
      const ok = got[got.length - 1];
      expect(got).toHaveLength(expected === 'drop' ? 1 : 2);
      if (expected !== 'drop') expect(header(got[0])).toMatchObject({ qr: true, rcode: expected });
      expect(Packet.parse(ok).answers[0].address).toBe('192.0.2.1');
    });
  }

  it('survives 10,000 random datagrams, accounting for each one, and answers the next good query', async () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const accounted = async () =>
      (await b.metric('ballast_dropped_queries_total')) + (await b.metric('ballast_responses_total'));
    const base = await accounted();
    const outcomes = async () => ({
      question: await b.metric('ballast_dropped_queries_total', { reason: 'question' }),
      response: await b.metric('ballast_dropped_queries_total', { reason: 'response' }),
      short: await b.metric('ballast_dropped_queries_total', { reason: 'short' }),
      FORMERR: await b.metric('ballast_responses_total', { rcode: 'FORMERR' }),
      NOTIMP: await b.metric('ballast_responses_total', { rcode: 'NOTIMP' }),
    });
    const before = await outcomes();
    // The datagrams go out from a worker thread (test/helpers/peer.ts), which also takes the replies: the load
    // generator is not on the event loop ballast runs on.
    const noise = await WorkerClient.open(b.port, undefined);
    const total = 10_000;
    const batch = 50;
    try {
      for (let i = 0; i < total; i += batch) {
        const datagrams: Buffer[] = [];
        for (let k = 0; k < batch; k++) {
          const len = (rnd() >> 8) % 300;
          const buf = Buffer.alloc(len);
          for (let j = 0; j < len; j++) buf[j] = (rnd() >> 16) & 0xff;
          // Half keep a plausible query header so they reach the question and OPT parsers.
          if (k % 2 === 0 && len >= 12) {
            buf[2] &= 0x07;
            buf.writeUInt16BE(1, 4);
          }
          datagrams.push(buf);
        }
        await noise.sendRaw(datagrams);
        // Paced on ballast's own accounting so the kernel's receive buffer is not what is being tested.
        await until(
          async () => (await accounted()) - base >= i + batch,
          `ballast to account for ${i + batch} datagrams`,
          { intervalMs: 1 },
        );
      }
    } finally {
      await noise.close();
    }
    expect((await accounted()) - base).toBe(total);
    const ok = await query(b.port, 'ok.test', T.A);
    expect(ok.packet.answers[0].address).toBe('192.0.2.1');
    // The datagrams come from a fixed seed, so how each is classified is known exactly.
    const after = await outcomes();
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
    expect(delta).toEqual({ question: 4755, response: 1958, short: 491, FORMERR: 247, NOTIMP: 2549 });
  });

  it('an oversized TCP length prefix that never completes costs one idle connection, nothing more', async () => {
    const { connect } = await import('node:net');
    const sock = connect({ port: b.port, host: '127.0.0.1' });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // Claims 65,535 bytes, sends 10, then a second connection keeps working while this one waits.
    sock.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(10, 7)]));
    const ok = await tcpQuery(b.port, 'ok.test', T.A);
    expect(ok.packet.answers[0].address).toBe('192.0.2.1');
    // The finished client's connection goes away; the half-sent one stays until its idle timeout.
    await until(async () => (await b.metric('ballast_tcp_connections')) === 1, 'one open TCP connection');
    sock.destroy();
    await until(async () => (await b.metric('ballast_tcp_connections')) === 0, 'no open TCP connection');
  });

  it('closes a TCP connection that sends a zero-length frame, and keeps serving', async () => {
    const { connect } = await import('node:net');
    const closed = await new Promise<boolean>((resolve) => {
      const sock = connect({ port: b.port, host: '127.0.0.1' }, () => sock.write(Buffer.from([0, 0])));
      sock.on('close', () => resolve(true));
      sock.on('error', () => {});
    });
    expect(closed).toBe(true);
    const ok = await tcpQuery(b.port, 'ok.test', T.A);
    expect(ok.packet.answers[0].address).toBe('192.0.2.1');
  });
});

describe('serving on IPv6 loopback', () => {
  let upstream: FakeUpstream;
  let b: Running;

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      records: { 'v6.example.test/1': [a('v6.example.test', '192.0.2.60', 300)] },
      zone: 'example.test',
    });
    b = await startBallast({ listen: ['[::1]:0'], upstream: { servers: [upstream.address] } });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  // Replies go to the client's address as given (src/server/udp.ts, literalAddress): an IPv6 client must get its
  // answer on the miss (sent after the upstream answered) and on the hit (sent at once).
  it('answers a UDP client on ::1, the miss and then the hit', async () => {
    const miss = await query(b.port, 'v6.example.test', T.A, { id: 6001 }, '::1');
    expect(header(miss.raw)).toMatchObject({ id: 6001, rcode: 0, ancount: 1 });
    const hit = await query(b.port, 'v6.example.test', T.A, { id: 6002 }, '::1');
    expect(header(hit.raw)).toMatchObject({ id: 6002, rcode: 0, ancount: 1 });
    expect(hit.packet.answers[0]).toMatchObject({ address: '192.0.2.60' });
    expect(upstream.count('v6.example.test')).toBe(1);
  });
});
