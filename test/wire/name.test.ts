import { describe, expect, it } from 'vitest';
import {
  BAD_NAME,
  encodeName,
  equalsIgnoreCase,
  lowerName,
  nameToString,
  skipName,
  skipUncompressedName,
} from '../../src/wire/index.js';
import { labels } from './bytes.js';
import { fixture, fixtureCases, RESPONSE_FACTS } from './fixtures.js';

const l63 = 'a'.repeat(63);

/** A 255-byte name (the most RFC 1035 §2.3.4 allows) and one byte more. */
const NAME_255 = labels(l63, l63, l63, 'b'.repeat(61));
const NAME_256 = labels(l63, l63, l63, 'b'.repeat(62));

describe('skipName', () => {
  it('skips the question and the (compressed) owner of every record in the real responses', () => {
    for (const meta of fixtureCases()) {
      const { response } = fixture(meta.name);
      const facts = RESPONSE_FACTS[meta.name];
      expect(skipName(response, 12), meta.name).toBe(facts.questionEnd - 4);
      // The first record's owner starts at questionEnd and ends 4 bytes (type, class) before its TTL.
      if (facts.records.length > 0) {
        expect(skipName(response, facts.questionEnd), meta.name).toBe(facts.records[0][0] - 4);
      }
    }
  });

  it('returns the offset after the first pointer, not after the name it points to', () => {
    // a-basic: the answer owner at 46 is c0 0c, a pointer back to the qname.
    const { response } = fixture('a-basic');
    expect(response.subarray(46, 48)).toEqual(Buffer.from([0xc0, 0x0c]));
    expect(skipName(response, 46)).toBe(48);
  });

  it('follows a chain of pointers that each point further back', () => {
    // 12: "test" root; 18: "b" → 12; 22: "a" → 18; 26: → 22
    const msg = Buffer.concat([
      Buffer.alloc(12),
      labels('test'),
      Buffer.from([1, 0x62, 0xc0, 12]),
      Buffer.from([1, 0x61, 0xc0, 18]),
      Buffer.from([0xc0, 22]),
    ]);
    expect(skipName(msg, 12)).toBe(18);
    expect(skipName(msg, 18)).toBe(22);
    expect(skipName(msg, 26)).toBe(28);
  });

  it('rejects pointers that point forward, at themselves, or into a loop (RFC 1035 §4.1.4)', () => {
    const forward = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 14]), labels('x')]);
    expect(skipName(forward, 12)).toBe(BAD_NAME);
    const self = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]);
    expect(skipName(self, 12)).toBe(BAD_NAME);
    // 12: "x" then a pointer to 16; 16: a pointer to 12. Entered at 16, the second jump goes forward again.
    const loop = Buffer.concat([Buffer.alloc(12), Buffer.from([1, 0x78, 0xc0, 16]), Buffer.from([0xc0, 12])]);
    expect(skipName(loop, 16)).toBe(BAD_NAME);
    // 18 → 16 → 12, and the name at 12 runs into the pointer at 16 again.
    const inner = Buffer.concat([Buffer.alloc(12), Buffer.from([1, 0x78, 1, 0x79, 0xc0, 12]), Buffer.from([0xc0, 16])]);
    expect(skipName(inner, 18)).toBe(BAD_NAME);
  });

  it('rejects label types 01 and 10, and labels over 63 bytes', () => {
    for (const first of [0x40, 0x41, 0x80, 0xbf]) {
      expect(skipName(Buffer.from([first, 0, 0, 0]), 0), first.toString(16)).toBe(BAD_NAME);
    }
    expect(skipName(labels(l63), 0)).toBe(65);
  });

  it('allows a 255-byte name and rejects 256, also when the length is reached through a pointer', () => {
    expect(skipName(NAME_255, 0)).toBe(255);
    expect(skipName(NAME_256, 0)).toBe(BAD_NAME);
    // Base "ccc…" (62 bytes + root) at 0, then 3 × 63-byte labels pointing at it: 192 + 63 = 255, then 256.
    const base = labels('c'.repeat(61));
    const longest = Buffer.concat([base, labels(l63, l63, l63).subarray(0, 192), Buffer.from([0xc0, 0])]);
    expect(skipName(longest, base.length)).toBe(longest.length);
    const base2 = labels('c'.repeat(62));
    const over = Buffer.concat([base2, labels(l63, l63, l63).subarray(0, 192), Buffer.from([0xc0, 0])]);
    expect(skipName(over, base2.length)).toBe(BAD_NAME);
  });

  it('stops at `end` and at the end of the buffer', () => {
    const name = labels('abc', 'de');
    expect(skipName(name, 0)).toBe(name.length);
    expect(skipName(name, 0, name.length - 1)).toBe(BAD_NAME);
    expect(skipName(name.subarray(0, 5), 0)).toBe(BAD_NAME);
    expect(skipName(Buffer.from([0xc0]), 0)).toBe(BAD_NAME);
    expect(skipName(Buffer.alloc(0), 0)).toBe(BAD_NAME);
    expect(skipName(Buffer.from([0]), 0)).toBe(1);
  });
});

describe('skipUncompressedName', () => {
  it('reads plain names, and refuses any pointer', () => {
    expect(skipUncompressedName(labels('svc', 'cluster', 'local'), 0)).toBe(19);
    const withPointer = Buffer.concat([labels('test'), Buffer.from([1, 0x61, 0xc0, 0])]);
    expect(skipName(withPointer, 6)).toBe(10);
    expect(skipUncompressedName(withPointer, 6)).toBe(BAD_NAME);
  });

  it('applies the same label, name and bounds limits', () => {
    expect(skipUncompressedName(labels('x'.repeat(64)), 0)).toBe(BAD_NAME);
    expect(skipUncompressedName(Buffer.from([0x40, 0]), 0)).toBe(BAD_NAME);
    expect(skipUncompressedName(NAME_255, 0)).toBe(255);
    expect(skipUncompressedName(NAME_256, 0)).toBe(BAD_NAME);
    expect(skipUncompressedName(labels('abc'), 0, 4)).toBe(BAD_NAME);
    expect(skipUncompressedName(labels('abc').subarray(0, 4), 0)).toBe(BAD_NAME);
  });
});

describe('lowerName', () => {
  it('lower-cases ASCII letters only, as latin1 (RFC 4343 §3)', () => {
    const wire = Buffer.from([3, 0x41, 0x62, 0x5a, 2, 0xc0, 0xde, 0]); // "AbZ", "ÀÞ"
    expect(lowerName(wire, 0, wire.length)).toBe('\x03abz\x02\xc0\xde\x00');
  });

  it('leaves the buffer untouched, and reads only the range asked for', () => {
    const wire = labels('WwW', 'Example');
    const copy = Buffer.from(wire);
    expect(lowerName(wire, 4, wire.length)).toBe('\x07example\x00');
    expect(wire).toEqual(copy);
  });

  it('returns lower-case names as they are, and folds the mixed-case fixture to the plain name', () => {
    const plain = labels('svc-2', 'ns-0', 'svc', 'cluster', 'local');
    expect(lowerName(plain, 0, plain.length)).toBe(plain.toString('latin1'));
    const { query } = fixture('mixed-case-0x20');
    expect(lowerName(query, 12, 12 + plain.length)).toBe(plain.toString('latin1'));
  });
});

describe('equalsIgnoreCase', () => {
  it('matches a 0x20-randomised question against the upstream echo', () => {
    const { query, response } = fixture('mixed-case-0x20');
    const lower = labels('svc-2', 'ns-0', 'svc', 'cluster', 'local');
    expect(equalsIgnoreCase(query, 12, lower, 0, lower.length)).toBe(true);
    expect(equalsIgnoreCase(query, 12, response, 12, 34)).toBe(true);
  });

  it('does not fold non-letters or latin1 letters', () => {
    // '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters; so are 'À' (0xc0) and 'à' (0xe0).
    expect(equalsIgnoreCase(Buffer.from('@'), 0, Buffer.from('`'), 0, 1)).toBe(false);
    expect(equalsIgnoreCase(Buffer.from([0xc0]), 0, Buffer.from([0xe0]), 0, 1)).toBe(false);
    expect(equalsIgnoreCase(Buffer.from('[Z'), 0, Buffer.from('{z'), 0, 2)).toBe(false);
    expect(equalsIgnoreCase(Buffer.from('abc'), 0, Buffer.from('abd'), 0, 3)).toBe(false);
    expect(equalsIgnoreCase(Buffer.from('xAbC'), 1, Buffer.from('abcy'), 0, 3)).toBe(true);
  });
});

describe('encodeName and nameToString', () => {
  it('encodes presentation names to lower-case wire form, with or without the trailing dot', () => {
    expect(encodeName('Cluster.Local')).toEqual(labels('cluster', 'local'));
    expect(encodeName('cluster.local.')).toEqual(labels('cluster', 'local'));
    expect(encodeName('.')).toEqual(Buffer.from([0]));
    expect(encodeName('')).toEqual(Buffer.from([0]));
  });

  it('refuses empty labels, labels over 63 bytes and names over 255 bytes', () => {
    expect(() => encodeName('a..b')).toThrow(RangeError);
    expect(() => encodeName(`${'x'.repeat(64)}.local`)).toThrow(RangeError);
    expect(encodeName(`${'x'.repeat(63)}.local`)).toHaveLength(63 + 1 + 5 + 1 + 1);
    const at255 = [l63, l63, l63, 'b'.repeat(61)].join('.');
    expect(encodeName(at255)).toEqual(NAME_255);
    expect(() => encodeName(`${at255}b`)).toThrow(RangeError);
  });

  it('round-trips through nameToString', () => {
    expect(nameToString(encodeName('www.example.com'), 0)).toBe('www.example.com');
    expect(nameToString(Buffer.from([0]), 0)).toBe('.');
    const { query } = fixture('srv');
    expect(nameToString(query, 12)).toBe('_http._tcp.svc-0.ns-0.svc.cluster.local');
  });
});
