// bench/conformance.js sets ballast's answers next to BIND's, and its report is only as good as the bytes it sends,
// the way it reads the answers and the fake upstream's script. Those are pure functions (bench/lib/conformance/),
// checked here without sockets.
import { describe, expect, it } from 'vitest';
import {
  buildMessage,
  buildQuery,
  CLASS,
  differences,
  EDE_OPTION,
  encodeName,
  FAKE_IDENTITY,
  FAKE_SOA,
  fakeAnswer,
  nameOfLength,
  optRecord,
  type Probe,
  parseMessage,
  questionBytes,
  readName,
  renderReport,
  TYPE,
  upstreamText,
} from '../../bench/lib/conformance/index.js';

const ask = (query: Parameters<typeof buildQuery>[0], role: 'main' | 'old' = 'main') => {
  const { reply, seen } = fakeAnswer(buildQuery({ id: 7, ...query }), { role });
  return { m: parseMessage(reply!), seen };
};

describe('queries as raw bytes', () => {
  it('makes a name of exactly 256 octets on the wire, which a reader refuses as longer than 255', () => {
    const name = nameOfLength(256);
    expect(encodeName(name)).toHaveLength(256);
    expect(name.endsWith('.conf.test')).toBe(true);
    expect(name.split('.').every((l) => l.length <= 63)).toBe(true);
    const m = parseMessage(buildQuery({ name }));
    expect(m.error).toBe('name longer than 255 octets');
    expect(encodeName(nameOfLength(255))).toHaveLength(255);
  });

  it('puts trailing bytes after the question without counting them, and reads them back as trailing', () => {
    const q = buildQuery({ id: 1, name: 'trail.conf.test', trailing: Buffer.from([1, 2, 3, 4]) });
    const m = parseMessage(q);
    expect(m.counts).toEqual({ qd: 1, an: 0, ns: 0, ar: 0 });
    expect(m.trailing).toBe(4);
    expect(m.error).toBeNull();
  });

  it('sets the header bits, the class and an OPT with DO as asked', () => {
    const m = parseMessage(
      buildQuery({ id: 0xbeef, name: 'x.test', type: TYPE.TSIG, cls: CLASS.NONE, ad: true, edns: { do: true } }),
    );
    expect(m).toMatchObject({ id: 0xbeef, qr: false, rd: true, ad: true, cd: false });
    expect(m.questions).toEqual([{ name: 'x.test', type: 250, cls: 254 }]);
    expect(m.opt).toMatchObject({ udpSize: 1232, do: true, version: 0 });
    expect(m.counts.ar).toBe(1);
    expect(m.additional).toEqual([]);
  });
});

describe('reading answers', () => {
  it('follows compression pointers backwards only', () => {
    const msg = Buffer.concat([Buffer.alloc(12), encodeName('a.test'), Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 12])]);
    expect(readName(msg, 20)).toEqual({ name: 'www.a.test', end: 26 });
    const loop = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]);
    expect(() => readName(loop, 12)).toThrow(/pointer/);
  });

  it('takes the OPT out of the additional section, with its extended rcode and EDE', () => {
    const ede = Buffer.concat([Buffer.from([0, 3]), Buffer.from('stale')]);
    const msg = buildMessage({
      id: 9,
      flags: { qr: true, rd: true, ra: true, rcode: 0 },
      question: questionBytes('a.test', TYPE.A),
      additional: [optRecord({ do: true, extRcode: 1, options: [{ code: EDE_OPTION, data: ede }] })],
    });
    const m = parseMessage(msg);
    expect(m.rcode).toBe(16); // BADVERS: extended rcode 1 over header rcode 0
    expect(m.opt?.ede).toEqual([{ code: 3, text: 'stale' }]);
    expect(m.additional).toEqual([]);
  });

  it('keeps what it read of a truncated message and says why it stopped', () => {
    const { reply } = fakeAnswer(buildQuery({ name: 'plain.conf.test' }));
    const m = parseMessage(reply!.subarray(0, reply!.length - 2));
    expect(m.questions).toHaveLength(1);
    expect(m.error).toMatch(/runs past the end/);
  });
});

describe('the scripted fake upstream', () => {
  it('answers ad.conf.test with the AD bit, the question echoed, and OPT only when asked with one', () => {
    const { m, seen } = ask({ name: 'AD.conf.test' });
    expect(m).toMatchObject({ id: 7, qr: true, aa: true, ad: true, rcode: 0, opt: null });
    expect(m.questions[0].name).toBe('AD.conf.test');
    expect(m.answer).toMatchObject([{ type: TYPE.A, ttl: 300, data: '192.0.2.1' }]);
    expect(seen).toEqual({ name: 'ad.conf.test', type: TYPE.A, cls: CLASS.IN, edns: false, do: false });
    expect(ask({ name: 'ad.conf.test', edns: { do: true } }).m.opt).toMatchObject({ do: true });
  });

  it('answers cname-nodata AAAA with the CNAME and an SOA of TTL 600, MINIMUM 5', () => {
    const { m } = ask({ name: 'cname-nodata.conf.test', type: TYPE.AAAA });
    expect(m.rcode).toBe(0);
    expect(m.answer).toMatchObject([{ type: TYPE.CNAME, ttl: 300, data: 'target.conf.test' }]);
    expect(m.authority).toMatchObject([{ name: 'conf.test', type: TYPE.SOA, ttl: FAKE_SOA.ttl }]);
    expect(m.authority[0].data.minimum).toBe(5);
  });

  it('answers cname-only with nothing but the CNAME', () => {
    const { m } = ask({ name: 'cname-only.conf.test' });
    expect(m.answer).toMatchObject([{ type: TYPE.CNAME, data: 'elsewhere.other.test' }]);
    expect(m.authority).toEqual([]);
  });

  it('as old.test: FORMERR without an OPT to a query with EDNS, an A to one without', () => {
    const formerr = ask({ name: 'a.old.test', edns: {} }, 'old');
    expect(formerr.m).toMatchObject({ rcode: 1, opt: null, counts: { qd: 1, an: 0, ns: 0, ar: 0 } });
    expect(formerr.seen?.edns).toBe(true);
    const plain = ask({ name: 'a.old.test' }, 'old');
    expect(plain.m.answer).toMatchObject([{ type: TYPE.A, ttl: 300, data: '192.0.2.20' }]);
  });

  it('answers any CH query with its own identity, and other classes with NODATA and an SOA', () => {
    const ch = ask({ name: 'id.server', type: TYPE.TXT, cls: CLASS.CH }).m;
    expect(ch.answer).toMatchObject([{ type: TYPE.TXT, cls: CLASS.CH, data: [FAKE_IDENTITY] }]);
    const none = ask({ name: 'none.conf.test', cls: CLASS.NONE }).m;
    expect(none).toMatchObject({ rcode: 0, answer: [] });
    expect(none.authority).toMatchObject([{ type: TYPE.SOA }]);
  });

  it('does not answer a response, and answers FORMERR to a question it cannot read', () => {
    const response = buildMessage({ flags: { qr: true }, question: questionBytes('a.test', TYPE.A) });
    expect(fakeAnswer(response)).toEqual({ reply: null, seen: null });
    const m = parseMessage(fakeAnswer(buildQuery({ name: nameOfLength(256) })).reply!);
    expect(m.rcode).toBe(1);
  });
});

describe('the report', () => {
  const probe = (query: Parameters<typeof buildQuery>[0], upstream = 0): Probe => ({
    response: parseMessage(fakeAnswer(buildQuery(query)).reply!),
    upstream: Array.from({ length: upstream }, () => ({
      name: query.name,
      type: TYPE.A,
      cls: CLASS.IN,
      edns: !!query.edns,
      do: false,
    })),
  });

  it('groups upstream queries by name, type and EDNS', () => {
    const q = { name: 'a.old.test', type: TYPE.A, cls: CLASS.IN, do: false };
    expect(upstreamText([])).toBe('up 0');
    expect(
      upstreamText([
        { ...q, edns: true },
        { ...q, edns: false },
        { ...q, edns: false },
      ]),
    ).toBe('up 3: a.old.test A edns, a.old.test A ×2');
  });

  it('names the header bits and sections that differ, and TTLs only when asked to', () => {
    const a = probe({ name: 'ad.conf.test' }, 1);
    const b = probe({ name: 'plain.conf.test' }, 1);
    expect(differences([a], [a])).toEqual([]);
    expect(differences([a], [b])).toEqual(['AD']);
    expect(differences([a], [probe({ name: 'ad.conf.test' }, 0)])).toEqual(['forwarded']);
    const cname = probe({ name: 'cname-nodata.conf.test', type: TYPE.AAAA });
    const shorter = {
      ...cname,
      response: { ...cname.response!, authority: [{ ...cname.response!.authority[0], ttl: 5 }] },
    };
    expect(differences([cname], [shorter])).toEqual([]);
    expect(differences([cname], [shorter], { ttls: true })).toEqual(['authority (types/TTLs)']);
  });

  it('writes the header, one row per case with its marks, and the summary', () => {
    const a = probe({ name: 'ad.conf.test' }, 1);
    const b = probe({ name: 'plain.conf.test' }, 1);
    const text = renderReport({
      command: 'node bench/conformance.js',
      date: '2026-01-01T00:00:00Z',
      bindVersion: 'BIND 9.18.0',
      ballastVersion: 'abc1234',
      nodeVersion: 'v24.0.0',
      seconds: 12.3,
      setup: 'Setup: test.',
      cases: [
        {
          id: 'ad-plain',
          title: 'AD',
          expects: 'AD clear (RFC 4035 §3.2.3)',
          ballast: { steps: [a], ok: false },
          bind: { steps: [b], ok: true },
          differences: ['AD'],
        },
      ],
    });
    expect(text).toContain('Generated by `bench/conformance.js`');
    expect(text).toContain('- BIND: BIND 9.18.0');
    expect(text).toContain('- Command: `node bench/conformance.js`');
    const row = text.split('\n').find((l) => l.startsWith('| AD (`ad-plain`)'));
    expect(row).toContain('✗ NOERROR qr aa rd ra ad · an A 300 · up 1: ad.conf.test A');
    expect(row).toContain('✓ NOERROR qr aa rd ra · an A 300');
    expect(row).toMatch(/differs: AD\s+\|$/);
    expect(text).toContain('Summary: 1 of 1 cases differ. Clear-cut expectations met: ballast 0 of 1,\nBIND 1 of 1.');
  });
});
