// Protocol edges, over real sockets (docs/design.md §6): what a node cache owes its clients in the header, the OPT
// record and its refusals, whatever the upstream does. The fake upstream answers authoritatively (AA=1), like BIND.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { Flag } from '../../src/wire/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, Packet, query, udpExchange } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const T = Packet.TYPE;
const EDNS = { edns: 1232 };
/** An EDE option with `code` and no text. */
const EDE = (code: number) => Buffer.from([0, 15, 0, 2, 0, code]);
/** The OPT record of ballast's own replies to an EDNS client: root, type 41, payload 1232. */
const OPT_HEAD = Buffer.from([0, 0, 41, 0x04, 0xd0]);
const hasOpt = (raw: Buffer) => raw.includes(OPT_HEAD) && header(raw).arcount === 1;

describe('protocol edges', () => {
  let upstream: FakeUpstream;
  let b: Running;
  const clock = new ManualClock();

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      records: {
        'www.example.test/1': [a('www.example.test', '192.0.2.10', 60)],
        'old.example.test/1': [a('old.example.test', '192.0.2.11', 10)],
      },
      zone: 'example.test',
    });
    b = await startBallast({ upstream: { servers: [upstream.address] } }, { clock });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  it('answers with AA=0 and RA=1, fresh from upstream and from cache, though the upstream set AA=1', async () => {
    for (const pass of ['upstream', 'cache']) {
      const r = await query(b.port, 'www.example.test', T.A, EDNS);
      expect(r.raw.readUInt16BE(2) & (Flag.AA | Flag.RA), pass).toBe(Flag.RA);
    }
    expect(upstream.count('www.example.test')).toBe(1);
  });

  it('puts an OPT in every reply it writes itself to an EDNS client: NOTIMP, FORMERR, REFUSED, SERVFAIL', async () => {
    const status = buildQuery('www.example.test', T.A, EDNS);
    status.writeUInt16BE((status.readUInt16BE(2) & ~0x7800) | (2 << 11), 2); // opcode STATUS
    const notimp = (await udpExchange(b.port, status))!;
    expect(header(notimp).rcode).toBe(4);
    expect(hasOpt(notimp)).toBe(true);

    const twoOpts = Buffer.concat([buildQuery('www.example.test', T.A, EDNS), OPT_HEAD, Buffer.alloc(6)]);
    twoOpts.writeUInt16BE(2, 10);
    const formerr = (await udpExchange(b.port, twoOpts))!;
    expect(header(formerr).rcode).toBe(1);
    expect(hasOpt(formerr)).toBe(true);

    const axfr = await query(b.port, 'example.test', 252, EDNS);
    expect(header(axfr.raw).rcode).toBe(5);
    expect(hasOpt(axfr.raw)).toBe(true);

    upstream.mode = 'servfail';
    try {
      const servfail = await query(b.port, 'broken.example.test', T.A, EDNS);
      expect(header(servfail.raw).rcode).toBe(2);
      expect(hasOpt(servfail.raw)).toBe(true);
    } finally {
      upstream.mode = 'answer';
    }
  });

  it('refuses AXFR and IXFR the same way every time (EDE 21, Not Supported), without asking upstream', async () => {
    for (const qtype of [252, 251, 252, 251]) {
      const r = await query(b.port, 'example.test', qtype, EDNS);
      expect(header(r.raw).rcode).toBe(5);
      expect(r.raw.subarray(-6)).toEqual(EDE(21));
    }
    expect(upstream.count('example.test')).toBe(0);
  });

  it('never answers a TSIG-signed query with an unsigned NOERROR, even for a cached name', async () => {
    await query(b.port, 'www.example.test', T.A);
    const signed = buildQuery('www.example.test', T.A);
    // A TSIG record (type 250, class ANY, TTL 0) at the end of the additional section (RFC 8945 §4.2).
    const name = Buffer.from([3, 107, 101, 121, 0]); // "key."
    const rdata = Buffer.alloc(16);
    const tsig = Buffer.concat([name, Buffer.from([0, 250, 0, 255, 0, 0, 0, 0, 0, rdata.length]), rdata]);
    const msg = Buffer.concat([signed, tsig]);
    msg.writeUInt16BE(1, 10);
    const r = (await udpExchange(b.port, msg))!;
    expect(header(r).rcode).toBe(5);
    expect(header(r).ancount).toBe(0);
  });

  it('with RD=0 answers from the cache only: cached names, stale ones as stale, others REFUSED; nothing goes upstream', async () => {
    await query(b.port, 'old.example.test', T.A); // cached, TTL 10
    const asked = upstream.count();
    const cached = await query(b.port, 'old.example.test', T.A, { rd: false });
    expect(cached.packet.answers[0].address).toBe('192.0.2.11');
    expect(header(cached.raw).rd).toBe(false);

    const unknown = await query(b.port, 'never.example.test', T.A, { rd: false, ...EDNS });
    expect(header(unknown.raw).rcode).toBe(5);
    expect(unknown.raw.subarray(-6)).toEqual(EDE(20));

    clock.advance(11_000); // old.example.test is stale now
    const stale = await query(b.port, 'old.example.test', T.A, { rd: false, ...EDNS });
    expect(stale.packet.answers[0]).toMatchObject({ address: '192.0.2.11', ttl: 30 });
    expect(stale.raw.subarray(-6)).toEqual(EDE(3));
    // A query that does go upstream, behind anything the RD=0 ones might have sent: the fake reads its one socket in
    // order, so once this one is answered, a refresh sent before it would have been counted.
    await query(b.port, 'after.example.test', T.A);
    expect(upstream.count()).toBe(asked + 1);
    expect(upstream.count('old.example.test')).toBe(1);
  });
});
