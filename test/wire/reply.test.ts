import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import {
  Ede,
  edeCodeOf,
  Flag,
  isRejection,
  type ParseResult,
  parseQuery,
  type Query,
  type QueryRejection,
  Rcode,
  scanResponse,
  synthesize,
} from '../../src/wire/index.js';
import { header, opt, question } from './bytes.js';
import { fixture, wireName } from './fixtures.js';

function asQuery(r: ParseResult): Query {
  if (isRejection(r)) throw new Error(`expected a query: ${JSON.stringify(r)}`);
  return r;
}

function asRejection(r: ParseResult): QueryRejection {
  if (!isRejection(r)) throw new Error('expected a rejection');
  return r;
}

const NAME = wireName('svc-1.ns-0.svc.cluster.local');
const QEND = 12 + NAME.length + 4;

describe('synthesize', () => {
  it('answers a non-EDNS client with header and question only', () => {
    const { query } = fixture('a-basic');
    const reply = synthesize(asQuery(parseQuery(query)), Rcode.SERVFAIL, { udpSize: 1232, ede: Ede.NETWORK_ERROR });
    expect(reply.length).toBe(query.length);
    expect(reply.readUInt16BE(2)).toBe(Flag.QR | Flag.RD | Flag.RA | Rcode.SERVFAIL);
    expect(reply.subarray(4, 12)).toEqual(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]));
    expect(reply.subarray(12)).toEqual(query.subarray(12));

    const p = dns2.Packet.parse(reply);
    expect(p.header).toMatchObject({ id: 0x1234, qr: 1, opcode: 0, aa: 0, tc: 0, rd: 1, ra: 1, rcode: 2 });
    expect(p.questions).toHaveLength(1);
    expect(p.questions[0]).toMatchObject({ name: 'svc-1.ns-0.svc.cluster.local', type: 1, class: 1 });
    expect(p.answers).toHaveLength(0);
    expect(p.additionals).toHaveLength(0);
  });

  it('adds an OPT for an EDNS client, with ballast’s UDP size and no options by default', () => {
    const { query } = fixture('aaaa-basic');
    const reply = synthesize(asQuery(parseQuery(query)), Rcode.REFUSED, { udpSize: 1400 });
    expect(reply.length).toBe(QEND + 11);
    expect(reply.readUInt16BE(10)).toBe(1);
    expect(reply.subarray(12, QEND)).toEqual(query.subarray(12, QEND));
    // root owner, type 41, class = UDP size, ext-rcode 0, version 0, flags 0, RDLENGTH 0
    expect(reply.subarray(QEND)).toEqual(Buffer.from([0, 0, 41, 0x05, 0x78, 0, 0, 0, 0, 0, 0]));

    const p = dns2.Packet.parse(reply);
    expect(p.header.rcode).toBe(Rcode.REFUSED);
    expect(p.additionals).toHaveLength(1);
    expect(p.additionals[0]).toMatchObject({ type: 41, class: 1400, extendedRcode: 0, version: 0, doFlag: false });
  });

  it('appends an Extended DNS Error option for EDNS clients only (RFC 8914)', () => {
    const edns = synthesize(asQuery(parseQuery(fixture('aaaa-basic').query)), Rcode.SERVFAIL, {
      udpSize: 1232,
      ede: Ede.NO_REACHABLE_AUTHORITY,
    });
    expect(edns.length).toBe(QEND + 11 + 6);
    expect(edns.readUInt16BE(QEND + 9)).toBe(6); // OPT RDLENGTH
    // OPTION-CODE 15, OPTION-LENGTH 2, INFO-CODE 22
    expect(edns.subarray(QEND + 11)).toEqual(Buffer.from([0, 15, 0, 2, 0, 22]));
    expect(dns2.Packet.parse(edns).additionals[0]).toMatchObject({ type: 41, class: 1232 });

    const plain = synthesize(asQuery(parseQuery(fixture('a-basic').query)), Rcode.SERVFAIL, {
      udpSize: 1232,
      ede: Ede.NO_REACHABLE_AUTHORITY,
    });
    expect(plain.length).toBe(QEND);
    expect(plain.readUInt16BE(10)).toBe(0);
  });

  it('echoes the DO bit of a DNSSEC-aware client', () => {
    const { query } = fixture('dnssec-a-do');
    const q = asQuery(parseQuery(query));
    const reply = synthesize(q, Rcode.SERVFAIL, { udpSize: 1232 });
    expect(reply.readUInt16BE(q.questionEnd + 7)).toBe(0x8000);
    expect(dns2.Packet.parse(reply).additionals[0]).toMatchObject({ doFlag: true });
    const noDo = synthesize({ raw: query, questionEnd: q.questionEnd, edns: true }, Rcode.SERVFAIL, { udpSize: 1232 });
    expect(noDo.readUInt16BE(q.questionEnd + 7)).toBe(0);
  });

  it('answers EDNS version 1 with BADVERS: rcode 16 split between header and OPT (RFC 6891 §6.1.3)', () => {
    const bytes = Buffer.concat([header({ id: 0x0bad, ar: 1 }), question(NAME), opt({ version: 1 })]);
    const r = asRejection(parseQuery(bytes));
    const reply = synthesize({ raw: bytes, questionEnd: r.questionEnd, edns: r.edns }, r.rcode!, { udpSize: 1232 });
    expect(reply.readUInt16BE(2) & 0xf).toBe(0);
    expect(reply.readUInt16BE(10)).toBe(1);
    expect(reply[QEND + 5]).toBe(1); // extended rcode: 16 >> 4
    expect(reply[QEND + 6]).toBe(0); // ballast speaks version 0
    const p = dns2.Packet.parse(reply);
    expect(p.header.id).toBe(0x0bad);
    expect(p.header.rcode).toBe(16);
    expect(p.additionals[0]).toMatchObject({ extendedRcode: 1, version: 0 });
  });

  it('copies the opcode, so NOTIMP for a NOTIFY says NOTIFY', () => {
    const bytes = Buffer.concat([header({ flags: (4 << 11) | Flag.AA }), question(NAME)]);
    const r = asRejection(parseQuery(bytes));
    const reply = synthesize({ raw: bytes, questionEnd: r.questionEnd, edns: r.edns }, r.rcode!, { udpSize: 1232 });
    expect(reply.readUInt16BE(2)).toBe(Flag.QR | (4 << 11) | Flag.RA | Rcode.NOTIMP);
    const p = dns2.Packet.parse(reply);
    expect(p.header).toMatchObject({ opcode: 4, qr: 1, aa: 0, rcode: Rcode.NOTIMP });
    expect(p.questions[0].name).toBe('svc-1.ns-0.svc.cluster.local');
  });

  it('copies RD and CD, sets RA, and nothing else from the query', () => {
    const cases: [number, number][] = [
      [0, Flag.QR | Flag.RA],
      [Flag.RD, Flag.QR | Flag.RD | Flag.RA],
      [Flag.CD, Flag.QR | Flag.CD | Flag.RA],
      [Flag.RD | Flag.CD, Flag.QR | Flag.RD | Flag.CD | Flag.RA],
      // AA, TC, AD and Z from a client are not echoed.
      [Flag.AA | Flag.TC | Flag.AD | 0x0040 | Flag.RD, Flag.QR | Flag.RD | Flag.RA],
    ];
    for (const [queryFlags, replyFlags] of cases) {
      const raw = Buffer.concat([header({ flags: queryFlags }), question(NAME)]);
      const reply = synthesize({ raw, questionEnd: QEND, edns: false }, Rcode.FORMERR, { udpSize: 1232 });
      expect(reply.readUInt16BE(2), queryFlags.toString(16)).toBe(replyFlags | Rcode.FORMERR);
    }
  });

  it('sets extra flags such as TC on request', () => {
    const q = asQuery(parseQuery(fixture('a-basic').query));
    const reply = synthesize(q, Rcode.NOERROR, { udpSize: 1232, extraFlags: Flag.TC | Flag.AA });
    expect(dns2.Packet.parse(reply).header).toMatchObject({ tc: 1, aa: 1, rd: 1, ra: 1, qr: 1, rcode: 0 });
  });

  it('leaves the question out when it could not be read', () => {
    const raw = Buffer.concat([header({ id: 7, qd: 0 })]);
    const reply = synthesize({ raw, questionEnd: 0, edns: false }, Rcode.FORMERR, { udpSize: 1232 });
    expect(reply).toEqual(Buffer.from([0, 7, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]));
    const withOpt = synthesize({ raw, questionEnd: 0, edns: true }, Rcode.FORMERR, { udpSize: 1232 });
    expect(withOpt.length).toBe(12 + 11);
    expect(withOpt.readUInt16BE(4)).toBe(0);
    expect(withOpt.readUInt16BE(10)).toBe(1);
    expect(withOpt.readUInt16BE(12 + 1)).toBe(41);
  });

  it('echoes the question byte for byte, keeping 0x20 case', () => {
    const { query } = fixture('mixed-case-0x20');
    const q = asQuery(parseQuery(query));
    const reply = synthesize(q, Rcode.SERVFAIL, { udpSize: 1232 });
    expect(reply.subarray(0, 2)).toEqual(query.subarray(0, 2));
    expect(reply.subarray(12, q.questionEnd)).toEqual(query.subarray(12, q.questionEnd));
    expect(dns2.Packet.parse(reply).questions[0].name).toBe('SvC-2.Ns-0.SVC.cluster.LOCAL');
  });
});

describe('edeCodeOf', () => {
  it('reads the EDE info-code of an OPT record, with or without EXTRA-TEXT, and -1 without one', () => {
    const q = parseQuery(Buffer.concat([header({ ar: 1 }), question(NAME), opt()]));
    if (isRejection(q)) throw new Error('a valid query');
    for (const [ede, edeText] of [
      [Ede.STALE_ANSWER, undefined],
      [Ede.STALE_ANSWER, 'last known good; upstream said NXDOMAIN'],
      [Ede.OTHER, 'no upstream capacity'],
    ] as const) {
      const r = synthesize(q, Rcode.SERVFAIL, { udpSize: 1232, ede, edeText });
      const scan = scanResponse(r);
      expect(edeCodeOf(r, scan.optStart, scan.optEnd)).toBe(ede);
    }
    const plain = synthesize(q, Rcode.SERVFAIL, { udpSize: 1232 });
    const scan = scanResponse(plain);
    expect(edeCodeOf(plain, scan.optStart, scan.optEnd)).toBe(-1);
  });
});
