import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError, negativeKind, type ResponseScan, scanResponse } from '../../src/wire/index.js';
import { header, labels, mutate, opt, prng, question, rr, u16, withCounts } from './bytes.js';
import { fixture, fixtureCases, RESPONSE_FACTS } from './fixtures.js';

describe('scanResponse on every fixture response', () => {
  for (const meta of fixtureCases()) {
    it(meta.name, () => {
      const { response } = fixture(meta.name);
      const facts = RESPONSE_FACTS[meta.name];
      expect(response.length).toBe(meta.response_bytes);
      const s = scanResponse(response);
      expect(s.id).toBe(0x1234);
      expect(s.flags).toBe(response.readUInt16BE(2));
      expect([s.qdcount, s.ancount, s.nscount, s.arcount]).toEqual([
        meta.qdcount,
        meta.ancount,
        meta.nscount,
        meta.arcount,
      ]);
      expect(s.rcode).toBe(meta.rcode);
      expect(s.truncated).toBe(meta.tc);
      expect(s.questionEnd).toBe(facts.questionEnd);

      // One TTL per record, OPT excluded, at the offsets an independent decoder found.
      const nonOpt = meta.ancount + meta.nscount + meta.arcount - (facts.opt ? 1 : 0);
      expect(s.ttlOffsets).toHaveLength(nonOpt);
      expect(s.ttls).toHaveLength(nonOpt);
      expect(s.ttlOffsets).toEqual(facts.records.map(([at]) => at));
      expect(s.ttls).toEqual(facts.records.map(([, , ttl]) => ttl));
      for (let i = 0; i < s.ttlOffsets.length; i++) {
        const at = s.ttlOffsets[i];
        expect(response.readUInt32BE(at)).toBe(s.ttls[i]);
        // The type field sits 8 bytes before the TTL.
        expect(response.readUInt16BE(at - 4)).toBe(facts.records[i][1]);
        expect(response.readUInt16BE(at - 4)).not.toBe(41);
      }
      // The zones' TTLs (fixture README): cluster.local is all TTL 5; conform.test uses 300 and 60.
      if (meta.qname.toLowerCase().endsWith('cluster.local')) for (const ttl of s.ttls) expect(ttl).toBe(5);
      else for (const ttl of s.ttls) expect([60, 300]).toContain(ttl);

      expect(s.soaTtl).toBe(facts.soa?.ttl ?? -1);
      expect(s.soaMinimum).toBe(facts.soa?.minimum ?? -1);

      if (facts.opt) {
        expect([s.optStart, s.optEnd]).toEqual(facts.opt);
        expect(response[s.optStart]).toBe(0);
        expect(response.readUInt16BE(s.optStart + 1)).toBe(41);
      } else {
        expect([s.optStart, s.optEnd]).toEqual([-1, -1]);
      }
      // Every EDNS query got an OPT back.
      if (meta.edns_udp_size !== null) expect(s.optStart).toBeGreaterThan(0);
    });
  }

  it('reads the negative-caching SOA values of nxdomain-soa and nodata-soa (TTL 5, MINIMUM 5)', () => {
    for (const name of ['nxdomain-soa', 'nodata-soa']) {
      const s = scanResponse(fixture(name).response);
      expect(s.soaTtl, name).toBe(5);
      expect(s.soaMinimum, name).toBe(5);
    }
    const signed = scanResponse(fixture('dnssec-nxdomain-nsec-do').response);
    expect([signed.soaTtl, signed.soaMinimum]).toEqual([60, 60]);
  });

  it('reads MINIMUM from the SOA RDATA, not the TTL, and only from the authority section', () => {
    const { response } = fixture('nxdomain-soa');
    // SOA TTL at 64; RDATA 70..125, MINIMUM its last four bytes (121..125).
    response.writeUInt32BE(3600, 64);
    response.writeUInt32BE(7, 121);
    const s = scanResponse(response);
    expect([s.soaTtl, s.soaMinimum]).toEqual([3600, 7]);
    // An SOA answering an SOA query is an answer, not a negative-caching SOA.
    expect(scanResponse(fixture('soa').response).soaTtl).toBe(-1);
  });

  it('counts a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const { response } = fixture('a-basic');
    response.writeUInt32BE(0x80000005, 52);
    expect(scanResponse(response).ttls).toEqual([0]);
  });

  it('merges the OPT extended rcode into the rcode (RFC 6891 §6.1.3)', () => {
    const { response } = fixture('refused-out-of-zone');
    response[29 + 5] = 1; // OPT at 29: owner, type, class, then the extended-rcode byte
    expect(scanResponse(response).rcode).toBe((1 << 4) | 5);
  });

  it('finds an OPT that is not the last additional record, and the TTLs after it', () => {
    const msg = Buffer.concat([
      header({ flags: 0x8400, an: 1, ar: 2 }),
      question(labels('a', 'test')),
      rr(Buffer.from([0xc0, 0x0c]), 1, 10, Buffer.alloc(4)),
      opt(),
      rr(Buffer.from([0xc0, 0x0c]), 1, 20, Buffer.alloc(4)),
    ]);
    const s = scanResponse(msg);
    expect([s.optStart, s.optEnd]).toEqual([12 + 12 + 16, 12 + 12 + 16 + 11]);
    expect(s.ttlOffsets).toEqual([30, 12 + 12 + 16 + 11 + 6]);
    expect(s.ttls).toEqual([10, 20]);
  });
});

/** Crafted responses that must be refused with MalformedMessageError, and (loosely) the reason given. */
function bad(): [string, RegExp, Buffer][] {
  const a = () => fixture('a-basic').response; // answer owner c0 0c at 46, RDLENGTH at 56
  const nx = () => fixture('nxdomain-soa').response; // SOA at 45, RDLENGTH at 68, RDATA 70..125, OPT 125..136
  const refused = () => fixture('refused-out-of-zone').response; // question to 29, OPT 29..40
  const cases: [string, RegExp, Buffer][] = [];
  const add = (name: string, why: RegExp, bytes: Buffer) => cases.push([name, why, bytes]);
  const RECORD = /bad record|overruns/;

  add('shorter than a header', /header/, a().subarray(0, 11));
  let b = a();
  b[47] = 0x30; // owner pointer now points two bytes past itself
  add('forward compression pointer in the answer', RECORD, b);
  b = a();
  b[47] = 46; // pointer to its own offset
  add('pointer to itself', RECORD, b);
  // A loop outside the question: record 1's RDATA (offset 36, never read as a name) holds a pointer to record 2's
  // owner (offset 38), and that owner points back at the RDATA.
  add(
    'pointer loop between two names',
    /bad record 1/,
    Buffer.concat([
      header({ flags: 0x8000, an: 2 }),
      question(labels('a', 'test')),
      rr(Buffer.from([0xc0, 0x0c]), 10, 5, Buffer.from([0xc0, 38])),
      rr(Buffer.from([0xc0, 36]), 10, 5, Buffer.alloc(0)),
    ]),
  );
  add(
    'forward pointer in the question',
    /question/,
    Buffer.concat([header({ flags: 0x8000 }), Buffer.from([0xc0, 0x10, 0, 0]), u16(1), u16(1)]),
  );
  add('a label of 64 bytes', /question/, Buffer.concat([header({ flags: 0x8000 }), question(labels('x'.repeat(64)))]));
  b = a();
  b.writeUInt16BE(5, 56);
  add('RDLENGTH overruns the message', /overruns/, b);
  add('message cut inside the last record', /overruns/, a().subarray(0, 60));
  add('message cut inside a record header', RECORD, a().subarray(0, 50));
  add('ANCOUNT larger than the records present', RECORD, withCounts(a(), { an: 2 }));
  add('QDCOUNT 2 with one question', /question|record/, withCounts(a(), { qd: 2 }));
  // SOA RDATA one byte longer than MNAME + RNAME + 20.
  b = nx();
  b.writeUInt16BE(56, 68);
  add('SOA RDATA with an extra byte', /SOA/, Buffer.concat([b.subarray(0, 125), Buffer.from([0]), b.subarray(125)]));
  // SOA RDATA cut to the two names and 10 of the 20 bytes of numbers.
  b = nx();
  b.writeUInt16BE(45, 68);
  add('SOA RDATA missing numbers', /SOA/, Buffer.concat([b.subarray(0, 115), b.subarray(125)]));
  // SOA MNAME whose first label runs past the RDATA.
  b = nx();
  b[70] = 60;
  add('SOA MNAME overrunning its RDATA', /SOA/, b);
  add('trailing byte', /trailing/, Buffer.concat([a(), Buffer.from([0])]));
  add('OPT in the answer section', /OPT/, withCounts(refused(), { an: 1, ar: 0 }));
  add('OPT in the authority section', /OPT/, withCounts(refused(), { ns: 1, ar: 0 }));
  add('two OPT records', /OPT/, Buffer.concat([withCounts(refused(), { ar: 2 }), opt()]));
  b = refused();
  add(
    'OPT owned by a pointer, not the root (RFC 6891 §6.1.1)',
    /OPT/,
    Buffer.concat([b.subarray(0, 29), Buffer.from([0xc0, 0x0c]), b.subarray(30)]),
  );
  add('OPT owned by a label, not the root', /OPT/, Buffer.concat([b.subarray(0, 29), labels('x'), b.subarray(30)]));
  return cases;
}

describe('scanResponse on crafted bad responses', () => {
  for (const [name, why, bytes] of bad()) {
    it(`throws MalformedMessageError: ${name}`, () => {
      let thrown: unknown;
      try {
        scanResponse(bytes);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(MalformedMessageError);
      expect((thrown as MalformedMessageError).code).toBe('BALLAST_MALFORMED_MESSAGE');
      expect((thrown as Error).message).toMatch(why);
    });
  }

  it('accepts the unmodified messages those cases were made from', () => {
    for (const name of ['a-basic', 'nxdomain-soa', 'refused-out-of-zone']) {
      expect(() => scanResponse(fixture(name).response)).not.toThrow();
    }
  });
});

describe('scanResponse on mutated fixture responses', () => {
  it('throws nothing but MalformedMessageError, and what it returns stays inside the message (10,000 inputs)', () => {
    const seed = 0xba11a57;
    const rand = prng(seed);
    const responses = fixtureCases().map((c) => fixture(c.name).response);
    let ok = 0;
    let malformed = 0;
    for (let i = 0; i < 10_000; i++) {
      const buf = mutate(rand, responses[rand.int(responses.length)], 1400);
      const where = `seed ${seed}, input ${i}: ${buf.toString('hex')}`;
      let s: ResponseScan;
      try {
        s = scanResponse(buf);
      } catch (err) {
        if (!(err instanceof MalformedMessageError)) throw new Error(`${where} threw ${err}`);
        malformed++;
        continue;
      }
      ok++;
      expect(s.questionEnd, where).toBeLessThanOrEqual(buf.length);
      expect(s.ttls.length, where).toBe(s.ttlOffsets.length);
      let last = s.questionEnd;
      for (const at of s.ttlOffsets) {
        expect(at, where).toBeGreaterThan(last);
        expect(at + 4, where).toBeLessThanOrEqual(buf.length);
        last = at;
      }
      for (const ttl of s.ttls) expect(ttl, where).toBeLessThanOrEqual(0x7fffffff);
      if (s.optStart !== -1) {
        expect(s.optStart, where).toBeGreaterThanOrEqual(s.questionEnd);
        expect(s.optEnd, where).toBeLessThanOrEqual(buf.length);
        expect(buf[s.optStart], where).toBe(0);
      }
    }
    // Both outcomes happen often, so the run exercises the success path too.
    expect(ok).toBeGreaterThan(1000);
    expect(malformed).toBeGreaterThan(1000);
  });
});

describe('negativeKind: one definition of a negative answer (RFC 2308 §2)', () => {
  /** A NOERROR answer to `alias.example AAAA` holding a CNAME, with an SOA in the authority section or not. */
  const chain = (withSoa: boolean) => {
    const p = new dns2.Packet();
    p.header.qr = 1;
    p.questions.push({ name: 'alias.example', type: 28, class: 1 } as never);
    p.answers.push({ name: 'alias.example', type: 5, class: 1, ttl: 300, domain: 'target.example' } as never);
    if (withSoa) {
      p.authorities.push({
        ...{ name: 'example', type: 6, class: 1, ttl: 600, primary: 'ns.example', admin: 'hm.example' },
        ...{ serial: 1, refresh: 3600, retry: 600, expiration: 86400, minimum: 5 },
      } as never);
    }
    return scanResponse(p.toBuffer());
  };

  it('tells NXDOMAIN, NODATA and positive answers apart, a CNAME into NODATA included', () => {
    expect(negativeKind(scanResponse(fixture('nxdomain-soa').response))).toBe('NXDOMAIN');
    expect(negativeKind(scanResponse(fixture('nodata-soa').response))).toBe('NODATA');
    expect(negativeKind(scanResponse(fixture('a-basic').response))).toBeUndefined();
    expect(negativeKind(scanResponse(fixture('cname-chain').response))).toBeUndefined();
    expect(negativeKind(chain(true))).toBe('NODATA');
    // Without an SOA, a lone CNAME is passed on as given: not a negative answer (docs/design.md §6).
    expect(negativeKind(chain(false))).toBeUndefined();
  });
});
