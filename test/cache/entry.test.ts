import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { NO_SLOT } from '../../src/cache/index.js';
import { Ede, Flag, Rcode } from '../../src/wire/index.js';
import { mixCase } from '../wire/bytes.js';
import { fixture, fixtureCases, RESPONSE_FACTS } from '../wire/fixtures.js';
import { admit, expected, ownOpt, query, T0, withOpt, withoutOpt } from './helpers.js';

const TCP = { maxSize: 65535, udpSize: 1232 };

describe('CacheEntry.render on every fixture', () => {
  for (const meta of fixtureCases()) {
    it(`${meta.name}: the upstream records for the same query, then for another ID and case, aged`, () => {
      const { query: qBytes, response } = fixture(meta.name);
      const { entry } = admit(qBytes, response);
      expect(entry.render(query(qBytes), T0, TCP)).toEqual(expected(meta.name, qBytes, 0));

      const facts = RESPONSE_FACTS[meta.name];
      const other = mixCase(qBytes, 12, facts.questionEnd - 4);
      other.writeUInt16BE(0xbeef, 0);
      const q = query(other);
      expect(other.subarray(12, facts.questionEnd)).not.toEqual(response.subarray(12, facts.questionEnd));
      expect(entry.render(q, T0 + 2_000, TCP)).toEqual(expected(meta.name, other, 2));
    });
  }

  it('decodes as the same answer with dns2 (independent decoder)', () => {
    const { query: qBytes, response } = fixture('a-basic');
    const { entry } = admit(qBytes, response);
    const client = mixCase(qBytes, 12, 42);
    client.writeUInt16BE(0x4242, 0);
    const p = dns2.Packet.parse(entry.render(query(client), T0 + 3_000, TCP));
    expect(p.header).toMatchObject({ id: 0x4242, qr: 1, aa: 0, ra: 1, rd: 1, rcode: 0 });
    expect(p.questions[0].name.toLowerCase()).toBe('svc-1.ns-0.svc.cluster.local');
    expect(p.questions[0].name).not.toBe('svc-1.ns-0.svc.cluster.local');
    expect(p.answers).toHaveLength(1);
    expect(p.answers[0]).toMatchObject({ type: 1, ttl: 2, address: '10.96.0.33' });
  });
});

describe('CacheEntry.render TTLs', () => {
  it('counts down by whole seconds rounded down (the remaining time, never more), 1 until the record ends, then 0', () => {
    const { query: qBytes, response } = fixture('mx'); // TTL 300 at offset 36
    const { entry, q } = admit(qBytes, response);
    const ttlAt = (ms: number) => entry.render(q, T0 + ms, TCP).readUInt32BE(36);
    expect(ttlAt(0)).toBe(300);
    expect(ttlAt(1)).toBe(299);
    expect(ttlAt(999)).toBe(299);
    expect(ttlAt(1_000)).toBe(299);
    expect(ttlAt(1_001)).toBe(298);
    expect(ttlAt(298_500)).toBe(1);
    expect(ttlAt(299_999)).toBe(1);
    expect(ttlAt(300_000)).toBe(0);
    expect(ttlAt(86_400_000)).toBe(0);
  });

  it('never serves a TTL above the stored one when the clock is behind the fetch time', () => {
    const { query: qBytes, response } = fixture('mx');
    const { entry, q } = admit(qBytes, response);
    expect(entry.render(q, T0 - 5_000, TCP).readUInt32BE(36)).toBe(300);
    expect(entry.render(q, T0 - 1, TCP).readUInt32BE(36)).toBe(300);
  });

  it('ages every record in every section; the OPT TTL field is ballast’s (DO from the client)', () => {
    const { query: qBytes } = fixture('dnssec-a-do'); // A + RRSIG, then OPT with DO
    const { entry, q } = admit(qBytes, fixture('dnssec-a-do').response);
    const out = entry.render(q, T0 + 42_000, TCP);
    expect(out.readUInt32BE(40)).toBe(258);
    expect(out.readUInt32BE(56)).toBe(258);
    expect(out.subarray(out.length - 11)).toEqual(ownOpt(1232, true));
  });

  it('serves every record with fixedTtl instead, however old the entry (RFC 8767 stale answers)', () => {
    const name = 'dnssec-nxdomain-nsec-do'; // six authority records, TTL 60
    const { query: qBytes, response } = fixture(name);
    const { entry, q } = admit(qBytes, response);
    const out = entry.render(q, T0 + 86_400_000, { ...TCP, fixedTtl: 30, ede: Ede.STALE_NXDOMAIN });
    expect(out).toEqual(expected(name, qBytes, 0, { fixedTtl: 30, ede: Ede.STALE_NXDOMAIN }));
  });
});

describe('CacheEntry.render header', () => {
  it('writes the client’s RD bit, clears AA (a cached answer is not authoritative) and sets RA', () => {
    const { query: qBytes, response } = fixture('a-basic');
    expect(response.readUInt16BE(2) & Flag.AA).toBe(Flag.AA); // BIND answered authoritatively
    const { entry } = admit(qBytes, response);
    const noRd = Buffer.from(qBytes);
    noRd.writeUInt16BE(0, 2);
    const out = entry.render(query(noRd), T0, TCP);
    expect(out.readUInt16BE(2) & (Flag.RD | Flag.AA)).toBe(0);
    expect(out.readUInt16BE(2) & (Flag.QR | Flag.RA)).toBe(Flag.QR | Flag.RA);
    expect(out).toEqual(expected('a-basic', noRd, 0));
  });

  it('returns a new buffer each time: changing one reply does not change the entry or the next reply', () => {
    const { query: qBytes, response } = fixture('txt');
    const { entry, q } = admit(qBytes, response);
    const first = entry.render(q, T0, TCP);
    first.fill(0);
    expect(entry.render(q, T0, TCP)).toEqual(expected('txt', qBytes, 0));
  });
});

describe('CacheEntry.render EDNS (OPT is hop-by-hop, RFC 6891 §6.1.1)', () => {
  it('gives a client without EDNS no OPT at all, whatever the upstream sent (RFC 6891 §7)', () => {
    const { query: qBytes, response } = fixture('aaaa-basic'); // OPT at 74..85
    const { entry } = admit(qBytes, response);
    const q = query(withoutOpt(qBytes));
    expect(q.edns).toBe(false);
    const want = expected('aaaa-basic', withoutOpt(qBytes), 0);
    expect(want.length).toBe(74);
    expect(entry.render(q, T0, TCP)).toEqual(want);
    // An EDE request changes nothing for such a client.
    expect(entry.render(q, T0, { ...TCP, ede: Ede.STALE_ANSWER })).toEqual(want);
    expect(dns2.Packet.parse(entry.render(q, T0 + 1_000, TCP)).additionals).toHaveLength(0);
  });

  it('replaces the upstream OPT with ballast’s own: its payload size, the client’s DO bit, and EDE', () => {
    const { query: qBytes } = fixture('aaaa-basic');
    const { entry, q } = admit(qBytes, fixture('aaaa-basic').response);
    const out = entry.render(q, T0, { maxSize: 65535, udpSize: 1400, ede: Ede.STALE_ANSWER });
    expect(out).toEqual(expected('aaaa-basic', qBytes, 0, { udpSize: 1400, ede: Ede.STALE_ANSWER }));
    expect(out.readUInt16BE(10)).toBe(1);
  });

  it('never passes on the upstream’s payload size, NSID, cookie or unknown options', () => {
    // aaaa-basic with the upstream advertising 4096 and carrying NSID "ab", a cookie and option 65001.
    const { query: qBytes, response: original } = fixture('aaaa-basic');
    const options = Buffer.from([
      ...[0, 3, 0, 2, 0x61, 0x62],
      ...[0, 10, 0, 16, ...Array.from({ length: 16 }, (_, i) => i + 1)],
      ...[0xfd, 0xe9, 0, 1, 0xff],
    ]);
    const response = Buffer.concat([original, options]);
    response.writeUInt16BE(4096, 74 + 3);
    response.writeUInt16BE(options.length, 83);
    const { entry, q } = admit(qBytes, response);
    for (const ede of [undefined, Ede.STALE_ANSWER]) {
      const out = entry.render(q, T0, { ...TCP, ede });
      expect(out).toEqual(expected('aaaa-basic', qBytes, 0, { ede }));
      expect(out.includes(Buffer.from([0x61, 0x62]))).toBe(false);
    }
    expect(entry.bytes.length).toBe(74); // nothing of the upstream OPT is kept
  });

  it('creates an OPT for an EDNS client when the upstream answer has none', () => {
    const { query: qBytes, response } = fixture('a-basic'); // no OPT, 62 bytes
    const { entry } = admit(qBytes, response);
    const q = query(withOpt(qBytes, { dnssecOk: false }));
    const out = entry.render(q, T0, { maxSize: 1232, udpSize: 1400 });
    expect(out.length).toBe(62 + 11);
    expect(out.readUInt16BE(10)).toBe(1);
    expect(out.subarray(62)).toEqual(ownOpt(1400, false));
    const withEde = entry.render(q, T0, { maxSize: 1232, udpSize: 1232, ede: Ede.STALE_ANSWER });
    expect(withEde.subarray(62)).toEqual(ownOpt(1232, false, Ede.STALE_ANSWER));
    const doQ = query(withOpt(qBytes, { dnssecOk: true }));
    expect(entry.render(doQ, T0, TCP).readUInt16BE(62 + 7)).toBe(0x8000);
    const p = dns2.Packet.parse(withEde);
    expect(p.additionals[0]).toMatchObject({ type: 41, class: 1232, doFlag: false });
    expect(p.answers[0]).toMatchObject({ address: '10.96.0.33', ttl: 5 });
  });

  it('moves up the TTLs that followed an OPT in the middle of the additional section', () => {
    // ns-with-glue reordered: answer NS 31..65, OPT, then the glue A (TTL 5) that was at 65..81.
    const { query: qBytes, response: original } = fixture('ns-with-glue');
    const response = Buffer.concat([original.subarray(0, 65), original.subarray(81, 92), original.subarray(65, 81)]);
    const { entry } = admit(qBytes, response);
    const plain = entry.render(query(withoutOpt(qBytes)), T0 + 2_000, TCP);
    const want = Buffer.from(original.subarray(0, 81));
    want.writeUInt16BE(1, 10);
    want.writeUInt16BE((want.readUInt16BE(2) & ~Flag.AA) | Flag.RA, 2);
    want.writeUInt32BE(3, 37);
    want.writeUInt32BE(3, 71);
    expect(plain).toEqual(want);
  });

  it('keeps the upstream’s extended rcode in ballast’s OPT (RFC 6891 §6.1.3)', () => {
    // a-basic as an answer with extended rcode 1 in an OPT: BADVERS (16) in full.
    const { query: qBytes, response: original } = fixture('a-basic');
    const response = Buffer.concat([original, Buffer.from([0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0])]);
    response.writeUInt16BE(1, 10);
    const { entry } = admit(qBytes, response);
    expect(entry.rcode).toBe(16);
    const out = entry.render(query(withOpt(qBytes)), T0, TCP);
    expect(out.subarray(out.length - 11)).toEqual(ownOpt(1232, false, undefined, 1));
  });
});

describe('CacheEntry.render truncation', () => {
  /**
   * Renders the cached 1300-byte TXT answer (big-txt-tcp, answered over TCP) for the UDP client recorded in the
   * fixture `client`, whose size is `maxSize`, and checks it is BIND's own TC answer to that client, with RA set and
   * AA cleared: BIND served it authoritatively, ballast answers as a recursive cache.
   */
  function expectBindTc(client: string, maxSize: number): Buffer {
    const big = fixture('big-txt-tcp');
    const { entry } = admit(big.query, big.response);
    const recorded = fixture(client);
    const out = entry.render(query(recorded.query), T0, { maxSize, udpSize: 1232 });
    const bindTc = Buffer.from(recorded.response);
    bindTc.writeUInt16BE((bindTc.readUInt16BE(2) | Flag.RA) & ~Flag.AA, 2);
    expect(out).toEqual(bindTc);
    return out;
  }

  it('answers header + question with TC=1 when the answer exceeds the client’s size (RFC 1035 §4.2.1)', () => {
    // A UDP client without EDNS: BIND's own answer to it was header + question with TC.
    const out = expectBindTc('big-txt-noedns-tc', 512);
    const p = dns2.Packet.parse(out);
    expect(p.header).toMatchObject({ tc: 1, aa: 0, qr: 1, rcode: 0, ancount: 0, qdcount: 1 });
  });

  it('keeps an OPT in the TC answer for an EDNS client', () => {
    expectBindTc('big-txt-edns4096-server-caps-at-1232-tc', 1232);
  });

  it('truncates only past the limit, counting the OPT it adds', () => {
    const big = fixture('big-txt-tcp'); // 1300 bytes, no OPT
    const { entry, q } = admit(big.query, big.response);
    expect(entry.render(q, T0, { maxSize: 1300, udpSize: 1232 }).length).toBe(1300);
    expect(entry.render(q, T0, { maxSize: 1299, udpSize: 1232 }).readUInt16BE(2) & Flag.TC).toBe(Flag.TC);
    const edns = query(withOpt(big.query));
    expect(entry.render(edns, T0, { maxSize: 1311, udpSize: 1232 }).length).toBe(1311);
    expect(entry.render(edns, T0, { maxSize: 1317, udpSize: 1232, ede: 3 }).length).toBe(1300 + 11 + 6);
    expect(entry.render(edns, T0, { maxSize: 1317, udpSize: 1232, ede: 3 }).readUInt16BE(6)).toBe(1);
    expect(entry.render(edns, T0, { maxSize: 1316, udpSize: 1232, ede: 3 }).readUInt16BE(6)).toBe(0);
    expect(entry.render(edns, T0, { maxSize: 1310, udpSize: 1232 }).readUInt16BE(6)).toBe(0);
  });
});

describe('the stored form leaves the question out (docs/design.md §6)', () => {
  for (const meta of fixtureCases()) {
    it(`${meta.name}: the arena holds no question, and a hit by slot is the detached entry's reply`, () => {
      const { query: qBytes, response } = fixture(meta.name);
      const { cache, entry, cached } = admit(qBytes, response);
      if (!cached) return;
      const facts = RESPONSE_FACTS[meta.name];
      const client = mixCase(qBytes, 12, facts.questionEnd - 4);
      client.writeUInt16BE(0x5151, 0);
      const q = query(client);
      const slot = cache.find(q, T0 + 1_000);
      expect(slot).not.toBe(NO_SLOT);
      const store = cache.storage;
      // The whole stored message is the entry's bytes; the arena holds it less its question.
      const questionLength = facts.questionEnd - 12;
      const ttlTable = store.valueLength(slot) - cache.columns.storedLength[slot];
      expect(cache.columns.storedLength[slot]).toBe(entry.bytes.length - questionLength);
      expect(ttlTable % 6).toBe(0);
      expect(cache.render(slot, q, T0 + 1_000, 65535, 1232)).toEqual(entry.render(q, T0 + 1_000, TCP));
      // A snapshot writes the message whole again, its question from the key (lower-cased).
      const [exported] = [...cache.exportEntries()];
      expect(exported.bytes.length).toBe(entry.bytes.length);
      const nameEnd = facts.questionEnd - 4;
      expect(exported.bytes.subarray(12, nameEnd).toString('latin1')).toBe(
        response.subarray(12, nameEnd).toString('latin1').toLowerCase(),
      );
      expect(exported.bytes.subarray(nameEnd, facts.questionEnd)).toEqual(
        response.subarray(nameEnd, facts.questionEnd),
      );
    });
  }

  it('answers SERVFAIL, never misplaced records, to a question of another length than the stored one', () => {
    const { query: qBytes, response } = fixture('a-basic');
    const { entry } = admit(qBytes, response);
    const other = fixtureCases().find(
      (m) => RESPONSE_FACTS[m.name].questionEnd !== RESPONSE_FACTS['a-basic'].questionEnd,
    );
    const out = entry.render(query(fixture(other!.name).query), T0, TCP);
    expect(out.readUInt16BE(2) & 0xf).toBe(Rcode.SERVFAIL);
    expect(out.readUInt16BE(6)).toBe(0);
  });
});
