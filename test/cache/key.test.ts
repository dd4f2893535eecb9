// The cache key's two spellings (src/cache/key.ts): the string outside src/cache, the bytes inside the store. They
// must name the same key for every query a client can send, including names with "/", upper case and any byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyName, keyOfQuery, keyOfString, keyToString, MAX_KEY_LENGTH } from '../../src/cache/key.js';
import { isRejection, parseQuery, type Query } from '../../src/wire/index.js';
import { query } from '../fuzz/arbitraries.js';
import { encode, optRecord } from '../fuzz/model.js';
import { fuzz, runs } from '../fuzz/params.js';

const parsed = query
  .map((c) => parseQuery(encode(c.message, false).bytes))
  .filter((q): q is Query => !isRejection(q) && q !== undefined);

describe('the cache key', () => {
  it(`has one meaning in both forms: bytes from the query equal bytes from its string, and back (${runs(2_000)})`, () => {
    fc.assert(
      fc.property(parsed, (q) => {
        const fromQuery = new Uint8Array(MAX_KEY_LENGTH);
        const fromString = new Uint8Array(MAX_KEY_LENGTH);
        const n = keyOfQuery(q, fromQuery);
        expect(keyOfString(q.key, fromString)).toBe(n);
        expect(Buffer.from(fromString.subarray(0, n))).toEqual(Buffer.from(fromQuery.subarray(0, n)));
        expect(keyToString(fromQuery, 0, n)).toBe(q.key);
        expect(keyName(fromQuery, 0, n)).toBe(q.qname);
      }),
      fuzz(2_000),
    );
  });

  it('folds case in the name only, and keeps DO and CD apart', () => {
    const keyOf = (name: string, dnssecOk: boolean, cd: boolean) => {
      const labels = name.split('.').map((l) => Buffer.from(l));
      const records = dnssecOk ? [optRecord(1232, 0, true)] : [];
      const flags = 0x0100 | (cd ? 0x10 : 0);
      const q = parseQuery(encode({ id: 1, flags, question: [{ name: labels, type: 1, klass: 1 }], records }).bytes);
      if (isRejection(q) || q === undefined) throw new Error('not a query');
      return q.key;
    };
    expect(keyOf('Www.Example', false, false)).toBe(keyOf('www.example', false, false));
    // The name part is the wire form in latin1: length bytes, labels, the root label.
    const wire = '\x03www\x07example\x00';
    expect(keyOf('www.example', false, false)).toBe(`${wire}/1/1/00`);
    expect(keyOf('www.example', true, false)).toBe(`${wire}/1/1/10`);
    expect(keyOf('www.example', false, true)).toBe(`${wire}/1/1/01`);
  });

  it('rejects a string that is not a key', () => {
    const out = new Uint8Array(MAX_KEY_LENGTH);
    for (const bad of [
      '',
      'name',
      'name/1/1',
      'name/1/1/2',
      'name/x/1/00',
      'name/70000/1/00',
      `${'a'.repeat(256)}/1/1/00`,
    ]) {
      expect(keyOfString(bad, out), bad).toBe(-1);
    }
  });
});
