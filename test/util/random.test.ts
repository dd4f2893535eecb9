// The randomness sources (src/util/random.ts): the kernel CSPRNG for message IDs and hashing seeds, a seeded
// generator for tests and simulations.
import { describe, expect, it } from 'vitest';
import { fillRandom, randomHex, seededRandom, systemRandom } from '../../src/util/random.js';

describe('fillRandom', () => {
  it('fills exactly the bytes of the view it is given, at its offset', () => {
    const buffer = new ArrayBuffer(4096);
    const view = new Uint8Array(buffer, 1024, 2048);
    fillRandom(view);
    const all = new Uint8Array(buffer);
    expect(all.subarray(0, 1024).every((b) => b === 0)).toBe(true);
    expect(all.subarray(3072).every((b) => b === 0)).toBe(true);
    // 2,048 random bytes take about 256 distinct values; all-zero or constant output would show here.
    expect(new Set(view).size).toBeGreaterThan(200);
  });

  it('gives different bytes on each call', () => {
    const a = fillRandom(new Uint32Array(4));
    const b = fillRandom(new Uint32Array(4));
    expect([...a]).not.toEqual([...b]);
  });

  it('randomHex gives twice as many hex digits as bytes', () => {
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(randomHex(8)).not.toBe(randomHex(8));
  });
});

describe('systemRandom.id16', () => {
  it('draws 16-bit IDs across blocks of the pool, covering the range', () => {
    const ids = Array.from({ length: 10_000 }, () => systemRandom.id16()); // more than two refills of 4,096
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 65_536)).toBe(true);
    expect(new Set(ids).size).toBeGreaterThan(9000); // about 9,300 distinct expected from 10,000 draws of 65,536
    expect(Math.max(...ids)).toBeGreaterThan(60_000);
    expect(Math.min(...ids)).toBeLessThan(5000);
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for the same seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect(Array.from({ length: 5 }, () => a.id16())).toEqual(Array.from({ length: 5 }, () => b.id16()));
  });
});
