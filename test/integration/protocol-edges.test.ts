// The protocol edges of docs/conformance.md, over real sockets against fake upstreams that set AD, answer a CNAME
// into NODATA, do not speak EDNS, or answer CHAOS queries with their own identity. Each test's title is a row of
// that table (test/docs/conformance.test.ts keeps the two equal).
import dns2 from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { Flag, HEADER_SIZE } from '../../src/wire/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, type QueryOptions, udpExchange } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const { Packet } = dns2;
const T = Packet.TYPE;
const EDNS = { edns: 1232 };
/** The EDE option of a reply, when it ends the message: its info-code. */
const edeOf = (raw: Buffer) => (raw.readUInt16BE(raw.length - 6) === 15 ? raw.readUInt16BE(raw.length - 2) : -1);
const flags = (raw: Buffer) => raw.readUInt16BE(2);

type Request = InstanceType<typeof Packet>;

/** The zone `edge.test`: one answer per name, as a recursive CoreDNS would give it. */
function edgeZone(req: Request): Request | Buffer | undefined {
  const [q] = req.questions;
  const name = q.name.toLowerCase();
  const res = Packet.createResponseFromRequest(req);
  res.header.ra = 1;
  if (q.class === 3) {
    // CHAOS: the server's own identity, as CoreDNS's chaos plugin answers `version.bind` and `id.server`.
    res.answers.push({ name: q.name, type: T.TXT, class: 3, ttl: 0, data: 'coredns-1.12.0' } as never);
    return res;
  }
  if (name === 'ad.edge.test' && q.type === T.A) {
    (res.header as { ad?: number }).ad = 1;
    res.answers.push(a(q.name, '192.0.2.1', 300) as never);
    return res;
  }
  if (name === 'alias.edge.test' && q.type === T.AAAA) {
    res.answers.push({ name: q.name, type: T.CNAME, class: 1, ttl: 300, domain: 'target.edge.test' } as never);
    res.authorities.push(soa(600, 5) as never);
    return res;
  }
  if (name === 'cname-only.edge.test' && q.type === T.A) {
    res.answers.push({ name: q.name, type: T.CNAME, class: 1, ttl: 300, domain: 'elsewhere.other.test' } as never);
    return res;
  }
  return undefined;
}

const soa = (ttl: number, minimum: number) => ({
  name: 'edge.test',
  type: T.SOA,
  class: 1,
  ttl,
  primary: 'ns.edge.test',
  admin: 'hostmaster.edge.test',
  serial: 1,
  refresh: 3600,
  retry: 600,
  expiration: 86400,
  minimum,
});

/** A server from before EDNS: FORMERR, and no OPT, to any query that carries one (RFC 6891 §7). */
function withoutEdns(req: Request): Request | Buffer | undefined {
  if (!req.additionals.some((r) => r.type === T.EDNS)) return undefined;
  const res = Packet.createResponseFromRequest(req);
  res.header.rcode = 1;
  res.additionals = [];
  return res;
}

/** A query as bytes, with its QCLASS and flags changed when asked. */
function raw(name: string, type: number, opts: QueryOptions & { qclass?: number; ad?: boolean } = {}): Buffer {
  const out = buildQuery(name, type, opts);
  const questionEnd = HEADER_SIZE + Buffer.byteLength(name) + 2 + 4;
  if (opts.qclass !== undefined) out.writeUInt16BE(opts.qclass, questionEnd - 2);
  if (opts.ad) out.writeUInt16BE(out.readUInt16BE(2) | Flag.AD, 2);
  return out;
}

describe('protocol edges (docs/conformance.md)', () => {
  const clock = new ManualClock();
  let edge: FakeUpstream;
  let old: FakeUpstream;
  let b: Running;
  let trusting: Running;
  /** Whether each query `old` received carried EDNS, in order. */
  const oldEdns: boolean[] = [];
  /** The AD bit of each query `edge` received for ad.edge.test. */
  const adAsked: number[] = [];

  const ask = async (bytes: Buffer, on: Running = b) => {
    const r = await udpExchange(on.port, bytes);
    if (r === null) throw new Error('no answer');
    return { raw: r, packet: Packet.parse(r), header: header(r) };
  };

  beforeAll(async () => {
    edge = await startFakeUpstream({
      zone: 'edge.test',
      records: { 'plain.edge.test/1': [a('plain.edge.test', '192.0.2.2', 300)] },
      respond: (req) => {
        if (req.questions[0].name.toLowerCase() === 'ad.edge.test')
          adAsked.push((req.header as { ad?: number }).ad ?? 0);
        return edgeZone(req);
      },
    });
    old = await startFakeUpstream({
      zone: 'old.test',
      records: { 'a.old.test/1': [a('a.old.test', '192.0.2.3')], 'b.old.test/1': [a('b.old.test', '192.0.2.4')] },
      respond: (req) => {
        oldEdns.push(req.additionals.some((r) => r.type === T.EDNS));
        return withoutEdns(req);
      },
    });
    const zones = [{ name: 'old.test', servers: [old.address] }];
    b = await startBallast({ upstream: { servers: [edge.address] }, zones }, { clock });
    trusting = await startBallast({ upstream: { servers: [edge.address], trustAd: true } }, { clock });
  });
  afterAll(async () => {
    await b?.close();
    await trusting?.close();
    await edge?.close();
    await old?.close();
  });

  it('AD from the upstream is cleared for every client, DO or not, fresh or cached (upstream.trustAd off)', async () => {
    for (const opts of [{}, EDNS, { ...EDNS, dnssecOk: true }, { ...EDNS, ad: true }]) {
      for (const pass of ['upstream or cache', 'cache']) {
        const r = await ask(raw('ad.edge.test', T.A, opts));
        expect(r.header.rcode, pass).toBe(0);
        expect(r.packet.answers).toHaveLength(1);
        expect(flags(r.raw) & Flag.AD, `${JSON.stringify(opts)}, ${pass}`).toBe(0);
      }
    }
    // The upstream was asked without AD: ballast does not ask for what it will not pass on.
    expect(adAsked.length).toBeGreaterThan(0);
    expect(adAsked.every((bit) => bit === 0)).toBe(true);
  });

  it('with upstream.trustAd, AD is asked for and reaches only clients that set DO or AD (RFC 6840 §5.7, §5.8)', async () => {
    adAsked.length = 0;
    const plain = await ask(raw('ad.edge.test', T.A, EDNS), trusting);
    expect(flags(plain.raw) & Flag.AD).toBe(0);
    expect(adAsked).toEqual([1]);
    // The same cache entry (DO is in the key, AD is not): AD for the client that asked for it.
    const withAd = await ask(raw('ad.edge.test', T.A, { ...EDNS, ad: true }), trusting);
    expect(flags(withAd.raw) & Flag.AD).toBe(Flag.AD);
    const withDo = await ask(raw('ad.edge.test', T.A, { ...EDNS, dnssecOk: true }), trusting);
    expect(flags(withDo.raw) & Flag.AD).toBe(Flag.AD);
    expect(adAsked).toEqual([1, 1]);
  });

  it('a CNAME into NODATA is a negative answer: cached for min(SOA TTL, MINIMUM), every TTL counting down from it', async () => {
    const first = await ask(raw('alias.edge.test', T.AAAA, EDNS));
    expect(first.header.rcode).toBe(0);
    expect(first.packet.answers.map((r) => [r.type, r.ttl])).toEqual([[T.CNAME, 5]]);
    expect(first.packet.authorities.map((r) => [r.type, r.ttl])).toEqual([[T.SOA, 5]]);
    clock.advance(3_000);
    const cached = await ask(raw('alias.edge.test', T.AAAA, EDNS));
    expect(cached.packet.authorities.map((r) => r.ttl)).toEqual([2]);
    expect(cached.packet.answers.map((r) => r.ttl)).toEqual([2]);
    expect(edge.count('alias.edge.test')).toBe(1);
    clock.advance(2_500);
    await ask(raw('alias.edge.test', T.AAAA, EDNS));
    expect(edge.count('alias.edge.test')).toBe(2);
  });

  it('an upstream without EDNS (FORMERR, no OPT) is asked again without it, and remembered', async () => {
    // The first query it ever got (ballast's loop check at start) carried EDNS; it was asked again without it at
    // once, and every query since went without.
    expect(oldEdns.slice(0, 2)).toEqual([true, false]);
    expect(old.queries[1].name).toBe(old.queries[0].name);
    const r = await ask(raw('a.old.test', T.A, EDNS));
    expect(r.header.rcode).toBe(0);
    expect(r.packet.answers.map((x) => x.address)).toEqual(['192.0.2.3']);
    const classic = await ask(raw('b.old.test', T.A));
    expect(classic.packet.answers.map((x) => x.address)).toEqual(['192.0.2.4']);
    expect(oldEdns.slice(2)).toEqual([false, false]);
    expect(await b.metric('ballast_upstream_edns_fallbacks_total', { upstream: old.address })).toBe(1);
    // Ten minutes on, EDNS is tried again: one more FORMERR, one more fallback, and the answer.
    clock.advance(600_000);
    const later = await ask(raw('a.old.test', T.A, EDNS));
    expect(later.packet.answers.map((x) => x.address)).toEqual(['192.0.2.3']);
    expect(oldEdns.slice(4)).toEqual([true, false]);
    expect(await b.metric('ballast_upstream_edns_fallbacks_total', { upstream: old.address })).toBe(2);
  });

  it('a DO=1 client gets the stale DO=0 answer when the upstream fails, not SERVFAIL (RFC 8767)', async () => {
    const warm = await ask(raw('plain.edge.test', T.A, EDNS));
    expect(warm.packet.answers.map((x) => x.address)).toEqual(['192.0.2.2']);
    clock.advance(301_000);
    edge.mode = 'servfail';
    try {
      // First from the failed fetch, then from the failure cache that now holds the DO=1 key.
      for (const pass of ['fetch failed', 'failure cached']) {
        const r = await ask(raw('plain.edge.test', T.A, { ...EDNS, dnssecOk: true }));
        expect(r.header.rcode, pass).toBe(0);
        expect(
          r.packet.answers.map((x) => [x.address, x.ttl]),
          pass,
        ).toEqual([['192.0.2.2', 30]]);
        expect(edeOf(r.raw), pass).toBe(3);
      }
    } finally {
      edge.mode = 'answer';
    }
  });

  it('CHAOS and every class but IN: REFUSED with EDE 21 (NONE: FORMERR), never forwarded (no upstream identity leaks)', async () => {
    for (const [name, type, qclass] of [
      ['version.bind', T.TXT, 3],
      ['id.server', T.TXT, 3],
      ['hostname.bind', T.TXT, 3],
      ['classy.edge.test', T.A, 4],
      ['classy.edge.test', T.A, 254],
      ['classy.edge.test', T.A, 255],
    ] as const) {
      const r = await ask(raw(name, type, { ...EDNS, qclass }));
      expect([r.header.rcode, edeOf(r.raw)], `${name} class ${qclass}`).toEqual([qclass === 254 ? 1 : 5, 21]);
      expect(r.packet.answers).toHaveLength(0);
    }
    for (const name of ['version.bind', 'id.server', 'hostname.bind', 'classy.edge.test']) {
      expect(edge.count(name), name).toBe(0);
    }
  });

  it('meta-types as a question: OPT, TKEY, TSIG get FORMERR; MAILA, MAILB get NOTIMP; none forwarded or cached', async () => {
    for (const pass of [1, 2]) {
      for (const [qtype, rcode] of [
        [41, 1],
        [249, 1],
        [250, 1],
        [253, 4],
        [254, 4],
      ]) {
        const r = await ask(raw('meta.edge.test', qtype, EDNS));
        expect([r.header.rcode, edeOf(r.raw)], `qtype ${qtype}, pass ${pass}`).toEqual([rcode, 21]);
      }
    }
    expect(edge.count('meta.edge.test')).toBe(0);
  });

  it('TTLs count down rounded down, and a live record never shows 0', async () => {
    clock.advance(1_000_000);
    const fresh = await ask(raw('plain.edge.test', T.A));
    expect(fresh.packet.answers[0].ttl).toBe(300);
    clock.advance(1_500);
    expect((await ask(raw('plain.edge.test', T.A))).packet.answers[0].ttl).toBe(298);
    clock.advance(298_000); // 299.5 s of 300
    expect((await ask(raw('plain.edge.test', T.A))).packet.answers[0].ttl).toBe(1);
  });

  it('a name over 255 octets gets FORMERR, without its question echoed; nothing goes upstream', async () => {
    // 3 × 63 + 62 octets of labels: 256 octets on the wire, one over (RFC 1035 §2.3.4). dns2 will not encode it.
    const label = (n: number) => Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61)]);
    const name = Buffer.concat([label(63), label(63), label(63), label(62), Buffer.from([0])]);
    const query = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      name,
      Buffer.from([0, 1, 0, 1]),
    ]);
    const r = await ask(query);
    expect([r.header.id, r.header.rcode, r.header.qdcount]).toEqual([0x1234, 1, 0]);
    expect(edge.queries.some((q) => q.name.startsWith('a'.repeat(63)))).toBe(false);
  });

  it('bytes after the question are ignored: the query is answered', async () => {
    const r = await ask(Buffer.concat([raw('plain.edge.test', T.A), Buffer.from([0xde, 0xad, 0xbe, 0xef])]));
    expect(r.header.rcode).toBe(0);
    expect(r.packet.answers.map((x) => x.address)).toEqual(['192.0.2.2']);
  });

  it('a CNAME-only answer is passed on as the upstream gave it; ballast never chases the target', async () => {
    const r = await ask(raw('cname-only.edge.test', T.A, EDNS));
    expect(r.header.rcode).toBe(0);
    expect(r.packet.answers.map((x) => [x.type, x.domain])).toEqual([[T.CNAME, 'elsewhere.other.test']]);
    expect(edge.count('elsewhere.other.test')).toBe(0);
  });
});
