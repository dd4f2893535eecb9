// Two defences against using ballast to amplify or reflect traffic (docs/design.md §6), over real sockets:
// ANY is answered by ballast itself with RFC 8482's HINFO and never forwarded, and server.allowClients drops queries
// from outside the listed networks without a reply.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/index.js';
import { ANY_TTL_SECONDS } from '../../src/wire/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query, tcpExchange, udpExchange } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const ANY = 255;
/** HINFO RDATA: CPU "RFC8482", OS "" (RFC 8482 §4.2). */
const HINFO_RDATA = Buffer.from('\x07RFC8482\x00', 'latin1');

describe('ANY queries (RFC 8482)', () => {
  let upstream: FakeUpstream;
  let b: Running;

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      records: { 'big.test/16': [{ type: 16, class: 1, ttl: 60, data: ['x'.repeat(200)] }] },
    });
    b = await startBallast({ upstream: { servers: [upstream.address] } });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  /** The one answer record of `raw`, which must follow the question directly: owner pointer, type, class, TTL, RDATA. */
  function onlyRecord(raw: Buffer, questionEnd: number) {
    expect(header(raw)).toMatchObject({ qr: true, rcode: 0, qdcount: 1, ancount: 1, nscount: 0, aa: false, ra: true });
    const at = questionEnd;
    return {
      owner: raw.readUInt16BE(at),
      type: raw.readUInt16BE(at + 2),
      klass: raw.readUInt16BE(at + 4),
      ttl: raw.readUInt32BE(at + 6),
      rdata: raw.subarray(at + 12, at + 12 + raw.readUInt16BE(at + 10)),
    };
  }

  it('answers over UDP with one HINFO "RFC8482" "" for the qname, in the client’s case, without asking upstream', async () => {
    const synthesized = () => b.metric('ballast_responses_total', { rcode: 'NOERROR', source: 'synthesized' });
    const before = await synthesized();
    const sent = buildQuery('Big.Test', ANY, { id: 4711 });
    const raw = (await udpExchange(b.port, sent))!;
    expect(header(raw).id).toBe(4711);
    expect(raw.subarray(12, sent.length)).toEqual(sent.subarray(12));
    expect(onlyRecord(raw, sent.length)).toEqual({
      owner: 0xc00c,
      type: 13,
      klass: 1,
      ttl: ANY_TTL_SECONDS,
      rdata: HINFO_RDATA,
    });
    expect(Packet.parse(raw).questions[0]).toMatchObject({ name: 'Big.Test', type: ANY });
    expect(upstream.count('big.test')).toBe(0);
    expect(await synthesized()).toBe(before + 1);
  });

  it('answers an EDNS client with ballast’s OPT and its DO bit, and a TCP client the same way', async () => {
    const sent = buildQuery('big.test', ANY, { edns: 4096, dnssecOk: true });
    const raw = (await udpExchange(b.port, sent))!;
    const r = Packet.parse(raw);
    const opt = r.additionals.find((x) => x.type === Packet.TYPE.EDNS);
    expect(opt).toMatchObject({ class: 1232, ttl: 0x8000 });
    expect(header(raw).arcount).toBe(1);
    const [tcp] = await tcpExchange(b.port, [buildQuery('big.test', ANY, { id: 9 })]);
    expect(onlyRecord(tcp, 12 + 10 + 4).rdata).toEqual(HINFO_RDATA);
    expect(upstream.count('big.test')).toBe(0);
  });
});

describe('server.allowClients', () => {
  let upstream: FakeUpstream;
  let b: Running;
  const notAllowed = () => b.metric('ballast_dropped_queries_total', { reason: 'not_allowed' });

  beforeAll(async () => {
    upstream = await startFakeUpstream({ records: { 'ok.test/1': [a('ok.test', '192.0.2.1')] } });
    b = await startBallast({
      upstream: { servers: [upstream.address] },
      server: { allowClients: ['127.0.0.1/32', '10.0.0.0/8'] },
    });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  /**
   * One UDP query from `from`, which any address of 127.0.0.0/8 can be: its reply, or null once ballast has counted
   * it dropped and then answered a later query from 127.0.0.1. A reply to the dropped one would have left before
   * that answer, so it would have been read by then: "no reply" is decided on a positive marker, not on a wait.
   */
  async function askFrom(from: string): Promise<Buffer | null> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, from, () => r()));
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    const dropped = await notAllowed();
    s.send(buildQuery('ok.test', 1, { id: 77 }), b.port, '127.0.0.1');
    try {
      await until(
        async () => got.length > 0 || (await notAllowed()) > dropped,
        `the query from ${from} answered or dropped`,
      );
      if (got.length === 0) {
        expect(header((await query(b.port, 'ok.test', 1)).raw).rcode).toBe(0);
        await new Promise((r) => setImmediate(r));
      }
      return got[0] ?? null;
    } finally {
      s.close();
    }
  }

  it('answers a listed client and drops one from elsewhere, without a reply, counting it', async () => {
    expect(header((await askFrom('127.0.0.1'))!).rcode).toBe(0);
    const before = await notAllowed();
    expect(await askFrom('127.0.0.2')).toBeNull();
    expect(await notAllowed()).toBe(before + 1);
    expect(upstream.count('ok.test')).toBe(1);
  });

  it('closes a TCP connection from elsewhere as it is accepted, counting it once', async () => {
    const before = await notAllowed();
    const sock = connect({ port: b.port, host: '127.0.0.1', localAddress: '127.0.0.3' });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('close', () => r()));
    expect(await notAllowed()).toBe(before + 1);
    expect(await b.metric('ballast_tcp_connections')).toBe(0);
  });

  it('takes a new list on reload, for listeners already open', async () => {
    expect(await askFrom('127.0.0.4')).toBeNull();
    await b.ballast.reload(
      validate({ ...b.ballast.currentConfig, server: { ...b.ballast.currentConfig.server, allowClients: [] } }),
    );
    await until(async () => (await askFrom('127.0.0.4')) !== null, 'the new list to apply');
    const r = await query(b.port, 'ok.test', 1);
    expect(r.packet.answers[0].address).toBe('192.0.2.1');
  });
});
