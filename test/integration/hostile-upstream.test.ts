// Hostile upstreams (docs/design.md §6), each over real loopback sockets against an upstream the test controls byte
// for byte (test/helpers/hostile.ts), each counted in a metric: garbage, oversized answers, a flood of forgeries
// racing the real answer, TTLs with the top bit set, records for other names, and answers of another type. The
// unpredictability of ballast's IDs and source ports, and broken TCP upstreams, are in upstream-entropy.test.ts and
// upstream-tcp.test.ts. Time is a ManualClock: nothing here waits on ballast's timers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { encode, nameFrom, optRecord, type Rec } from '../fuzz/model.js';
import { labelsAt, questionEndOf } from '../fuzz/oracle.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, Packet, query, tcpQuery } from '../helpers/client.js';
import { type HostileQuery, type HostileUpstream, startHostileUpstream } from '../helpers/hostile.js';
import { until } from '../helpers/wait.js';

const T = Packet.TYPE;

/** An A record owned by `owner` (a name, or the question's own labels). */
const aRecord = (owner: string, address: string, ttl = 300, section: 0 | 1 | 2 = 0): Rec => ({
  section,
  owner: nameFrom(owner),
  type: T.A,
  klass: 1,
  ttl,
  rdata: { kind: 'raw', bytes: Buffer.from(address.split('.').map(Number)) },
});

/** A response to ballast's query `q` with `records` (owner "" means the question's name) and ballast's OPT echoed. */
function answer(
  q: HostileQuery,
  records: Rec[],
  opts: { id?: number; rcode?: number; qtype?: number; qname?: string } = {},
) {
  const end = questionEndOf(q.raw);
  const name = opts.qname === undefined ? labelsAt(q.raw) : nameFrom(opts.qname);
  const own = (r: Rec) => (r.owner.length === 0 && r.type !== 41 ? { ...r, owner: labelsAt(q.raw) } : r);
  return encode({
    id: opts.id ?? q.id,
    flags: 0x8180 | (opts.rcode ?? 0),
    question: [{ name, type: opts.qtype ?? q.raw.readUInt16BE(end - 4), klass: 1 }],
    records: [...records.map(own), optRecord(1232)],
  }).bytes;
}

/** The addresses in an answer, as dns2 decodes them. */
const addresses = (r: Awaited<ReturnType<typeof query>>) => r.packet.answers.map((a) => a.address);

const rejected = (b: Running, reason: string) => b.metric('ballast_upstream_rejected_responses_total', { reason });

describe('hostile upstream answers over UDP', () => {
  const clock = new ManualClock();
  let up: HostileUpstream;
  let b: Running;

  beforeAll(async () => {
    up = await startHostileUpstream();
    b = await startBallast({ upstream: { servers: [up.address] } }, { clock });
  });
  afterAll(async () => {
    await b.close();
    await up.close();
  });
  beforeEach(() => {
    up.onQuery = (q) => q.reply(answer(q, [aRecord('', '192.0.2.1')]));
  });

  it('ignores garbage, counting each datagram as malformed, and takes the answer that follows', async () => {
    const before = await rejected(b, 'malformed');
    up.onQuery = (q) => {
      q.reply(Buffer.from([0x12])); // shorter than an ID
      q.reply(Buffer.concat([q.raw.subarray(0, 2), Buffer.alloc(40, 0xff)])); // the right ID, then noise
      q.reply(q.raw); // the query itself (QR=0)
      const cut = answer(q, [aRecord('', '6.6.6.6')]);
      q.reply(cut.subarray(0, cut.length - 3)); // an answer cut short
      q.reply(answer(q, [aRecord('', '192.0.2.10')]));
    };
    const r = await query(b.port, 'garbage.test', T.A);
    expect(addresses(r)).toEqual(['192.0.2.10']);
    expect((await rejected(b, 'malformed')) - before).toBe(4);
  });

  it('takes an answer larger than the payload size it asked for as truncated, and asks again over TCP', async () => {
    const txt = (n: number): Rec => ({
      section: 0,
      owner: [],
      type: T.TXT,
      klass: 1,
      ttl: 300,
      rdata: { kind: 'txt', strings: [Buffer.alloc(200, 0x61 + n)] },
    });
    const big = Array.from({ length: 15 }, (_, i) => txt(i)); // about 3,200 bytes, over the 1,232 ballast advertises
    up.onQuery = (q) => q.reply(answer(q, big));
    const truncatedBefore = await b.metric('ballast_upstream_truncated_total');
    const r = await tcpQuery(b.port, 'big.test', T.TXT);
    expect(r.raw.length).toBeGreaterThan(3000);
    expect(header(r.raw)).toMatchObject({ rcode: 0, ancount: 15, tc: false });
    expect(await rejected(b, 'oversize')).toBe(1);
    expect((await b.metric('ballast_upstream_truncated_total')) - truncatedBefore).toBe(1);
    const asked = up.queries.filter((q) => q.raw.includes(Buffer.from('\x03big\x04test')));
    expect(asked.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('leaves a flood of forgeries racing the real answer unused, counting each by why it is not the answer', async () => {
    const counts = { id: 0, question: 0, answer: 0 };
    const base = {
      id: await rejected(b, 'id'),
      question: await rejected(b, 'question'),
      answer: await rejected(b, 'answer'),
    };
    const forged = aRecord('', '6.6.6.6');
    up.onQuery = async (q) => {
      // 300 forgeries in batches of 30, each batch counted by ballast before the next goes, then the real answer.
      for (let batch = 0; batch < 10; batch++) {
        for (let i = 0; i < 10; i++) {
          q.reply(answer(q, [forged], { id: q.id ^ (1 + batch * 10 + i) })); // another ID
          q.reply(answer(q, [forged], { qname: `x${i}.flood.test` })); // another question
          q.reply(answer(q, [{ ...forged, type: T.AAAA, rdata: { kind: 'raw', bytes: Buffer.alloc(16, 6) } }])); // another type
        }
        counts.id += 10;
        counts.question += 10;
        counts.answer += 10;
        await until(
          async () => (await rejected(b, 'answer')) - base.answer >= counts.answer,
          'ballast to read a batch',
        );
      }
      q.reply(answer(q, [aRecord('', '192.0.2.20')]));
    };
    const r = await query(b.port, 'flood.test', T.A, {}, '127.0.0.1', 20_000);
    expect(addresses(r)).toEqual(['192.0.2.20']);
    expect((await rejected(b, 'id')) - base.id).toBe(counts.id);
    expect((await rejected(b, 'question')) - base.question).toBe(counts.question);
    expect((await rejected(b, 'answer')) - base.answer).toBe(counts.answer);
    // What was cached is the real answer.
    const again = await query(b.port, 'flood.test', T.A);
    expect(addresses(again)).toEqual(['192.0.2.20']);
    expect(up.queries.filter((q) => q.raw.includes(Buffer.from('\x05flood'))).length).toBe(1);
  });

  it('reads a TTL with the top bit set as 0 (RFC 2181 §8): served as 0, not cached, and counted', async () => {
    up.onQuery = (q) => q.reply(answer(q, [aRecord('', '192.0.2.30', 0x80000001)]));
    const r = await query(b.port, 'highbit.test', T.A);
    expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.30', ttl: 0 });
    expect(await b.metric('ballast_upstream_ttl_top_bit_total')).toBe(1);
    await query(b.port, 'highbit.test', T.A);
    expect(up.queries.filter((q) => q.raw.includes(Buffer.from('\x07highbit'))).length).toBe(2);
    expect(await b.metric('ballast_upstream_ttl_top_bit_total')).toBe(2);
  });

  it('rejects an answer section holding a record for another name; that name is still asked upstream', async () => {
    const before = await rejected(b, 'answer');
    up.onQuery = (q) => {
      if (q.raw.includes(Buffer.from('\x06victim'))) return q.reply(answer(q, [aRecord('', '192.0.2.77')]));
      q.reply(answer(q, [aRecord('', '192.0.2.40'), aRecord('victim.other.test', '6.6.6.6')]));
      q.reply(answer(q, [aRecord('', '192.0.2.41')]));
    };
    const r = await query(b.port, 'poison.test', T.A);
    expect(addresses(r)).toEqual(['192.0.2.41']);
    expect((await rejected(b, 'answer')) - before).toBe(1);
    const victim = await query(b.port, 'victim.other.test', T.A);
    expect(addresses(victim)).toEqual(['192.0.2.77']);
    expect(up.queries.filter((q) => q.raw.includes(Buffer.from('\x06victim'))).length).toBe(1);
  });

  it('serves out-of-bailiwick additional data only with its own question, never for that other name', async () => {
    up.onQuery = (q) => {
      if (q.raw.includes(Buffer.from('\x07victim2'))) return q.reply(answer(q, [aRecord('', '192.0.2.78')]));
      q.reply(answer(q, [aRecord('', '192.0.2.50'), aRecord('victim2.other.test', '6.6.6.6', 300, 2)]));
    };
    const r = await query(b.port, 'glue.test', T.A);
    expect(addresses(r)).toEqual(['192.0.2.50']);
    const victim = await query(b.port, 'victim2.other.test', T.A);
    expect(addresses(victim)).toEqual(['192.0.2.78']);
    expect(up.queries.filter((q) => q.raw.includes(Buffer.from('\x07victim2'))).length).toBe(1);
  });

  it('rejects an answer of another type than asked, and takes the right one that follows', async () => {
    const before = await rejected(b, 'answer');
    up.onQuery = (q) => {
      const txt: Rec = {
        section: 0,
        owner: [],
        type: T.TXT,
        klass: 1,
        ttl: 300,
        rdata: { kind: 'txt', strings: [Buffer.from('not an address')] },
      };
      q.reply(answer(q, [txt]));
      q.reply(answer(q, [aRecord('', '192.0.2.60')]));
    };
    const r = await query(b.port, 'type.test', T.A);
    expect(r.packet.answers.map((a) => [a.type, a.address])).toEqual([[T.A, '192.0.2.60']]);
    expect((await rejected(b, 'answer')) - before).toBe(1);
  });
});

describe('an oversized answer from a UDP-only upstream', () => {
  it('is ignored (no TCP to ask), counted, and the answer that fits is taken', async () => {
    const up = await startHostileUpstream((q) => {
      const big: Rec = {
        section: 0,
        owner: [],
        type: T.TXT,
        klass: 1,
        ttl: 300,
        rdata: { kind: 'txt', strings: Array.from({ length: 8 }, () => Buffer.alloc(200, 0x62)) },
      };
      q.reply(answer(q, [big]));
      q.reply(answer(q, [{ ...big, rdata: { kind: 'txt', strings: [Buffer.from('small')] } }]));
    });
    const b = await startBallast(
      { upstream: { servers: [up.address], protocol: 'udp' } },
      { clock: new ManualClock() },
    );
    try {
      const r = await query(b.port, 'big.udp.test', T.TXT);
      expect([r.packet.answers[0].data].flat()).toEqual(['small']);
      expect(await rejected(b, 'oversize')).toBe(1);
      expect(up.queries.every((q) => q.transport === 'udp')).toBe(true);
    } finally {
      await b.close();
      await up.close();
    }
  });
});
