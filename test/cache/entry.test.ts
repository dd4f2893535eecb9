import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { Ede, Flag, scanResponse } from '../../src/wire/index.js';
import { mixCase } from '../wire/bytes.js';
import { fixture, fixtureCases, RESPONSE_FACTS } from '../wire/fixtures.js';
import { admit, query, T0, withOpt, withoutOpt } from './helpers.js';

const TCP = { maxSize: 65535, udpSize: 1232 };

/** What the upstream sent, as a client with `clientQuery` should get it back after `ageSeconds`. */
function expected(name: string, clientQuery: Buffer, ageSeconds: number): Buffer {
  const { response } = fixture(name);
  const facts = RESPONSE_FACTS[name];
  const out = Buffer.from(response);
  clientQuery.copy(out, 0, 0, 2);
  clientQuery.copy(out, 12, 12, facts.questionEnd);
  for (const [at, , ttl] of facts.records) out.writeUInt32BE(Math.max(ttl - ageSeconds, 0), at);
  return out;
}

describe('CacheEntry.render on every fixture', () => {
  for (const meta of fixtureCases()) {
    it(`${meta.name}: the upstream bytes for the same query, then for another ID and case, aged`, () => {
      const { query: qBytes, response } = fixture(meta.name);
      const { entry } = admit(qBytes, response);
      expect(entry.render(query(qBytes), T0, TCP)).toEqual(response);

      const facts = RESPONSE_FACTS[meta.name];
      const other = mixCase(qBytes, 12, facts.questionEnd - 4);
      other.writeUInt16BE(0xbeef, 0);
      const q = query(other);
      expect(other.subarray(12, facts.questionEnd)).not.toEqual(response.subarray(12, facts.questionEnd));
      expect(entry.render(q, T0 + 2_500, TCP)).toEqual(expected(meta.name, other, 2));
      // The entry still holds the upstream's bytes.
      expect(entry.bytes).toEqual(response);
    });
  }

  it('decodes as the same answer with dns2 (independent decoder)', () => {
    const { query: qBytes, response } = fixture('a-basic');
    const { entry } = admit(qBytes, response);
    const client = mixCase(qBytes, 12, 42);
    client.writeUInt16BE(0x4242, 0);
    const p = dns2.Packet.parse(entry.render(query(client), T0 + 3_000, TCP));
    expect(p.header).toMatchObject({ id: 0x4242, qr: 1, aa: 1, rd: 1, rcode: 0 });
    expect(p.questions[0].name.toLowerCase()).toBe('svc-1.ns-0.svc.cluster.local');
    expect(p.questions[0].name).not.toBe('svc-1.ns-0.svc.cluster.local');
    expect(p.answers).toHaveLength(1);
    expect(p.answers[0]).toMatchObject({ type: 1, ttl: 2, address: '10.96.0.33' });
  });
});

describe('CacheEntry.render TTLs', () => {
  it('ages by whole seconds and stops at 0', () => {
    const { query: qBytes, response } = fixture('mx'); // TTL 300 at offset 36
    const { entry, q } = admit(qBytes, response);
    const ttlAt = (ms: number) => entry.render(q, T0 + ms, TCP).readUInt32BE(36);
    expect(ttlAt(0)).toBe(300);
    expect(ttlAt(999)).toBe(300);
    expect(ttlAt(1_000)).toBe(299);
    expect(ttlAt(1_999)).toBe(299);
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

  it('ages every record in every section and leaves the OPT TTL field (rcode, version, DO) alone', () => {
    const { query: qBytes, response } = fixture('dnssec-a-do'); // A + RRSIG, OPT 158..169 with DO
    const { entry, q } = admit(qBytes, response);
    const out = entry.render(q, T0 + 42_000, TCP);
    expect(out.readUInt32BE(40)).toBe(258);
    expect(out.readUInt32BE(56)).toBe(258);
    expect(out.subarray(158)).toEqual(response.subarray(158));
    expect(out.readUInt32BE(163)).toBe(0x00008000);
  });

  it('serves every record with fixedTtl instead, however old the entry (RFC 8767 stale answers)', () => {
    const { query: qBytes, response } = fixture('dnssec-nxdomain-nsec-do'); // six authority records, TTL 60
    const { entry, q } = admit(qBytes, response);
    const out = entry.render(q, T0 + 86_400_000, { ...TCP, fixedTtl: 30 });
    for (const [at] of RESPONSE_FACTS['dnssec-nxdomain-nsec-do'].records) expect(out.readUInt32BE(at)).toBe(30);
    expect(out.readUInt32BE(500)).toBe(0x00008000); // OPT TTL field untouched
    const rest = Buffer.from(out);
    for (const [at, , ttl] of RESPONSE_FACTS['dnssec-nxdomain-nsec-do'].records) rest.writeUInt32BE(ttl, at);
    expect(rest).toEqual(response);
  });
});

describe('CacheEntry.render header', () => {
  it('writes the client’s RD bit and keeps the upstream’s other flags', () => {
    const { query: qBytes, response } = fixture('a-basic');
    const { entry } = admit(qBytes, response);
    const noRd = Buffer.from(qBytes);
    noRd.writeUInt16BE(0, 2);
    const out = entry.render(query(noRd), T0, TCP);
    expect(out.readUInt16BE(2)).toBe(response.readUInt16BE(2) & ~Flag.RD);
    expect(out.readUInt16BE(2) & Flag.AA).toBe(Flag.AA);
    expect(out.subarray(3)).toEqual(response.subarray(3));
  });

  it('returns a new buffer each time: changing one reply does not change the entry or the next reply', () => {
    const { query: qBytes, response } = fixture('txt');
    const { entry, q } = admit(qBytes, response);
    const first = entry.render(q, T0, TCP);
    first.fill(0);
    expect(entry.render(q, T0, TCP)).toEqual(response);
  });
});

describe('CacheEntry.render EDNS', () => {
  it('strips the upstream OPT for a client that sent none (RFC 6891 §7)', () => {
    const { query: qBytes, response } = fixture('aaaa-basic'); // OPT at 74..85
    const { entry } = admit(qBytes, response);
    const plain = withoutOpt(qBytes);
    const q = query(plain);
    expect(q.edns).toBe(false);
    const expectedBytes = Buffer.from(response.subarray(0, 74));
    expectedBytes.writeUInt16BE(0, 10);
    expect(entry.render(q, T0, TCP)).toEqual(expectedBytes);
    // An EDE request changes nothing for such a client.
    expect(entry.render(q, T0, { ...TCP, ede: Ede.STALE_ANSWER })).toEqual(expectedBytes);
    const p = dns2.Packet.parse(entry.render(q, T0 + 1_000, TCP));
    expect(p.additionals).toHaveLength(0);
    expect(p.answers[0]).toMatchObject({ type: 28, ttl: 4 });
  });

  it('appends EDE inside the upstream OPT: RDLENGTH grows by 6, ARCOUNT stays', () => {
    const { query: qBytes, response } = fixture('aaaa-basic');
    const { entry, q } = admit(qBytes, response);
    const out = entry.render(q, T0, { ...TCP, ede: Ede.STALE_ANSWER });
    expect(out.length).toBe(response.length + 6);
    expect(out.readUInt16BE(10)).toBe(1);
    expect(out.subarray(0, 83)).toEqual(response.subarray(0, 83));
    expect(out.readUInt16BE(83)).toBe(6);
    expect(out.subarray(85)).toEqual(Buffer.from([0, 15, 0, 2, 0, 3]));
  });

  it('keeps the upstream’s EDNS options in front of the added EDE', () => {
    // aaaa-basic with an NSID option (code 3, "ab") in the upstream OPT.
    const { query: qBytes, response: original } = fixture('aaaa-basic');
    const response = Buffer.concat([original, Buffer.from([0, 3, 0, 2, 0x61, 0x62])]);
    response.writeUInt16BE(6, 83);
    const { entry, q } = admit(qBytes, response);
    const out = entry.render(q, T0, { ...TCP, ede: Ede.STALE_NXDOMAIN });
    expect(out.readUInt16BE(83)).toBe(12);
    expect(out.subarray(85)).toEqual(Buffer.from([0, 3, 0, 2, 0x61, 0x62, 0, 15, 0, 2, 0, 19]));
    expect(scanResponse(out).optEnd).toBe(out.length);
  });

  it('creates an OPT for an EDNS client when the upstream answer has none', () => {
    const { query: qBytes, response } = fixture('a-basic'); // no OPT, 62 bytes
    const { entry } = admit(qBytes, response);
    const q = query(withOpt(qBytes, { dnssecOk: false }));
    const out = entry.render(q, T0, { maxSize: 1232, udpSize: 1400 });
    expect(out.length).toBe(62 + 11);
    expect(out.subarray(0, 10)).toEqual(response.subarray(0, 10));
    expect(out.readUInt16BE(10)).toBe(1);
    expect(out.subarray(12, 62)).toEqual(response.subarray(12));
    expect(out.subarray(62)).toEqual(Buffer.from([0, 0, 41, 0x05, 0x78, 0, 0, 0, 0, 0, 0]));

    const withEde = entry.render(q, T0, { maxSize: 1232, udpSize: 1232, ede: Ede.STALE_ANSWER });
    expect(withEde.length).toBe(62 + 11 + 6);
    expect(withEde.readUInt16BE(10)).toBe(1);
    expect(withEde.subarray(62)).toEqual(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 6, 0, 15, 0, 2, 0, 3]));

    const doQ = query(withOpt(qBytes, { dnssecOk: true }));
    expect(entry.render(doQ, T0, TCP).readUInt16BE(62 + 7)).toBe(0x8000);
    const p = dns2.Packet.parse(withEde);
    expect(p.additionals[0]).toMatchObject({ type: 41, class: 1232, doFlag: false });
    expect(p.answers[0]).toMatchObject({ address: '10.96.0.33', ttl: 5 });
  });

  it('moves the TTLs that follow an OPT in the middle of the additional section', () => {
    // ns-with-glue reordered: answer NS 31..65, OPT, then the glue A (TTL 5) that was at 65..81.
    const { query: qBytes, response: original } = fixture('ns-with-glue');
    const response = Buffer.concat([original.subarray(0, 65), original.subarray(81, 92), original.subarray(65, 81)]);
    const { entry, q } = admit(qBytes, response);

    // No EDNS: the OPT goes, and the glue TTL (now back at 71) is still aged.
    const plain = entry.render(query(withoutOpt(qBytes)), T0 + 2_000, TCP);
    const want = Buffer.from(original.subarray(0, 81));
    want.writeUInt16BE(1, 10);
    want.writeUInt32BE(3, 37);
    want.writeUInt32BE(3, 71);
    expect(plain).toEqual(want);

    // EDNS with EDE: the OPT grows by 6, so the glue TTL moves from 82 to 88.
    const out = entry.render(q, T0 + 2_000, { ...TCP, ede: Ede.STALE_ANSWER });
    expect(out.length).toBe(response.length + 6);
    expect(out.readUInt32BE(37)).toBe(3);
    expect(out.readUInt16BE(65 + 9)).toBe(6);
    expect(out.subarray(76, 82)).toEqual(Buffer.from([0, 15, 0, 2, 0, 3]));
    expect(out.readUInt32BE(88)).toBe(3);
    expect(out.subarray(82)).toEqual(
      Buffer.concat([original.subarray(65, 71), Buffer.from([0, 0, 0, 3]), original.subarray(75, 81)]),
    );
  });
});

describe('CacheEntry.render truncation', () => {
  /**
   * Renders the cached 1300-byte TXT answer (big-txt-tcp, answered over TCP) for the UDP client recorded in the
   * fixture `client`, whose size is `maxSize`, and checks it is BIND's own TC answer to that client, with RA set:
   * BIND served it authoritatively, ballast answers as a recursive server.
   */
  function expectBindTc(client: string, maxSize: number): Buffer {
    const big = fixture('big-txt-tcp');
    const { entry } = admit(big.query, big.response);
    const recorded = fixture(client);
    const out = entry.render(query(recorded.query), T0, { maxSize, udpSize: 1232 });
    const bindTc = Buffer.from(recorded.response);
    bindTc.writeUInt16BE(bindTc.readUInt16BE(2) | Flag.RA, 2);
    expect(out).toEqual(bindTc);
    return out;
  }

  it('answers header + question with TC=1 when the answer exceeds the client’s size (RFC 1035 §4.2.1)', () => {
    // A UDP client without EDNS: BIND's own answer to it was header + question with TC.
    const out = expectBindTc('big-txt-noedns-tc', 512);
    const p = dns2.Packet.parse(out);
    expect(p.header).toMatchObject({ tc: 1, aa: 1, qr: 1, rcode: 0, ancount: 0, qdcount: 1 });
    expect(p.answers).toHaveLength(0);
  });

  it('keeps an OPT in the TC answer for an EDNS client', () => {
    expectBindTc('big-txt-edns4096-server-caps-at-1232-tc', 1232);
  });

  it('truncates only past the limit, counting the OPT it adds or removes', () => {
    const big = fixture('big-txt-tcp');
    const { entry, q } = admit(big.query, big.response);
    expect(entry.render(q, T0, { maxSize: 1300, udpSize: 1232 })).toEqual(big.response);
    expect(entry.render(q, T0, { maxSize: 1299, udpSize: 1232 }).readUInt16BE(2) & Flag.TC).toBe(Flag.TC);
    const edns = query(withOpt(big.query));
    expect(entry.render(edns, T0, { maxSize: 1311, udpSize: 1232 }).length).toBe(1311);
    expect(entry.render(edns, T0, { maxSize: 1317, udpSize: 1232, ede: 3 }).length).toBe(1300 + 11 + 6);
    expect(entry.render(edns, T0, { maxSize: 1317, udpSize: 1232, ede: 3 }).readUInt16BE(6)).toBe(1);
    expect(entry.render(edns, T0, { maxSize: 1316, udpSize: 1232, ede: 3 }).readUInt16BE(6)).toBe(0);
    expect(entry.render(edns, T0, { maxSize: 1310, udpSize: 1232 }).readUInt16BE(6)).toBe(0);
    // Stripping the upstream OPT can make an answer fit: aaaa-basic is 85 bytes with OPT, 74 without.
    const aaaa = fixture('aaaa-basic');
    const small = admit(aaaa.query, aaaa.response).entry;
    expect(small.render(query(withoutOpt(aaaa.query)), T0, { maxSize: 74, udpSize: 1232 }).length).toBe(74);
  });
});
