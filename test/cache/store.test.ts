// The store under the cache (docs/performance.md §1): arena slabs with compaction, an index over key bytes, two
// recency tiers. A model-based fuzz test drives random sequences of stores, uses, demotions and deletions against a
// plain Map model and checks, after every step, that every key still finds its own bytes, that the eviction order is
// the model's (secondary tier least recently used first, then primary), and that the accounting is exact.
import { describe, expect, it } from 'vitest';
import { blockSize } from '../../src/cache/arena.js';
import { NO_SLOT, Store, type Tier } from '../../src/cache/store.js';
import { seededRandom } from '../../src/util/random.js';

const enc = (s: string) => Buffer.from(s, 'latin1');
/** Any hash will do for correctness; a weak one (few buckets) makes collisions and long probe runs common. */
const weakHash = (key: Uint8Array, n: number) => (n * 31 + key[0] + key[n - 1]) & 0x3f;

interface ModelEntry {
  key: string;
  value: Buffer;
  tier: Tier;
}

/** The reference: each tier a list, most recently used first. */
class Model {
  readonly tiers: Record<Tier, ModelEntry[]> = { primary: [], secondary: [] };
  find(key: string): ModelEntry | undefined {
    return this.tiers.primary.find((e) => e.key === key) ?? this.tiers.secondary.find((e) => e.key === key);
  }
  remove(e: ModelEntry): void {
    const list = this.tiers[e.tier];
    list.splice(list.indexOf(e), 1);
  }
  get size(): number {
    return this.tiers.primary.length + this.tiers.secondary.length;
  }
  /** Next to go under pressure. */
  victim(): ModelEntry | undefined {
    const list = this.tiers.secondary.length > 0 ? this.tiers.secondary : this.tiers.primary;
    return list[list.length - 1];
  }
}

function harness(maxEntries: number, maxBytes: number, slabBytes: number) {
  const evicted: string[] = [];
  const slotKeys = new Map<number, string>();
  const store = new Store({
    maxEntries,
    maxBytes,
    slabBytes,
    onEvict: (slot, tier) => evicted.push(`${slotKeys.get(slot)}@${tier}`),
  });
  const find = (key: string) => {
    const k = enc(key);
    return store.find(k, k.length, weakHash(k, k.length));
  };
  const put = (key: string, value: Buffer) => {
    const k = enc(key);
    const slot = store.insert(k, k.length, weakHash(k, k.length), value.length);
    if (slot !== NO_SLOT) {
      store.slab(slot).set(value, store.valueOffset(slot));
      slotKeys.set(slot, key);
    }
    return slot;
  };
  const bytesOf = (slot: number) => {
    const at = store.valueOffset(slot);
    return Buffer.from(store.slab(slot).subarray(at, at + store.valueLength(slot)));
  };
  return { store, evicted, find, put, bytesOf, slotKeys };
}

describe('Store', () => {
  it('keeps every key with its own bytes through random stores, uses, demotions and deletes (model-based)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(seed);
      const int = (n: number) => Math.floor(random.float() * n);
      const slabBytes = 512;
      const maxBytes = 4 * slabBytes;
      const maxEntries = 24;
      const h = harness(maxEntries, maxBytes, slabBytes);
      const model = new Model();
      for (let step = 0; step < 2500; step++) {
        const key = `k${int(60)}`;
        const op = int(10);
        const e = model.find(key);
        if (op < 5) {
          // Store: sizes from 1 byte to most of a slab, so compaction and large-entry eviction both happen.
          const size = int(8) === 0 ? 100 + int(300) : 2 + int(60);
          const value = Buffer.alloc(size, step & 0xff);
          value.writeUInt16LE(step, 0);
          if (e) model.remove(e);
          // Whatever the store evicts to make room must be the model's victims, in order.
          h.evicted.length = 0;
          const slot = h.put(key, value);
          expect(slot).not.toBe(NO_SLOT);
          for (const got of h.evicted) {
            const victim = model.victim()!;
            expect(got, `seed ${seed} step ${step}`).toBe(`${victim.key}@${victim.tier}`);
            model.remove(victim);
          }
          model.tiers.primary.unshift({ key, value, tier: 'primary' });
        } else if (op < 8) {
          const slot = h.find(key);
          expect(slot === NO_SLOT, `seed ${seed} step ${step} ${key}`).toBe(e === undefined);
          if (e) {
            h.store.touch(slot);
            model.remove(e);
            model.tiers[e.tier].unshift(e);
          }
        } else if (op < 9) {
          const slot = h.find(key);
          if (e && e.tier === 'primary') {
            h.store.demote(slot);
            model.remove(e);
            e.tier = 'secondary';
            model.tiers.secondary.unshift(e);
          }
        } else if (e) {
          h.store.delete(h.find(key));
          model.remove(e);
        }
        // Invariants: counts and the bound after every step, everything else every few steps.
        expect(h.store.entries).toBe(model.size);
        expect(h.store.arenaBytes).toBeLessThanOrEqual(maxBytes);
        if (step % 5 !== 0) continue;
        let live = 0;
        for (const tier of ['primary', 'secondary'] as const) {
          const slots = [...h.store.slots(tier)];
          expect(slots.map((s) => h.slotKeys.get(s))).toEqual(model.tiers[tier].map((m) => m.key));
          for (const m of model.tiers[tier]) {
            const slot = h.find(m.key);
            if (h.store.tierOf(slot) !== tier || !h.bytesOf(slot).equals(m.value)) {
              expect.fail(`seed ${seed} step ${step}: ${m.key} lost its bytes or tier`);
            }
            live += blockSize(m.key.length + m.value.length);
          }
        }
        expect(h.store.liveBytes).toBe(live);
      }
    }
  });

  it('holds at most maxEntries, evicting the secondary tier first, then the least recently used', () => {
    const h = harness(3, 1 << 16, 4096);
    for (const k of ['a', 'b', 'c']) h.put(k, enc(`value-${k}`));
    h.store.demote(h.find('c'));
    h.put('d', enc('value-d'));
    expect(h.evicted).toEqual(['c@secondary']);
    h.put('e', enc('value-e'));
    expect(h.evicted).toEqual(['c@secondary', 'a@primary']);
    expect(h.bytesOf(h.find('b')).toString()).toBe('value-b');
  });

  it('never holds more slab bytes than maxBytes, compacting scattered free space instead of growing', () => {
    const h = harness(10_000, 8 * 1024, 1024);
    for (let i = 0; i < 5000; i++) {
      h.put(`name-${i}`, Buffer.alloc(20 + (i % 50), i & 0xff));
      expect(h.store.arenaBytes).toBeLessThanOrEqual(8 * 1024);
    }
    // Most of the arena holds entries: compaction reclaims what eviction scatters.
    expect(h.store.liveBytes).toBeGreaterThan(0.85 * 8 * 1024);
    const slot = h.find('name-4999');
    expect(h.bytesOf(slot)).toEqual(Buffer.alloc(20 + (4999 % 50), 4999 & 0xff));
  });

  it('under churn (bounded by count), compacts before it grows: the slabs held follow the live bytes, not the bound', () => {
    const h = harness(200, 64 * 1024, 1024);
    for (let i = 0; i < 20_000; i++) h.put(`churn-${i}`, Buffer.alloc(40, i & 0xff));
    // 200 live entries of about 60 bytes: about 12 KiB live; far below the 64 KiB the bound would allow.
    expect(h.store.liveBytes).toBeLessThan(14 * 1024);
    expect(h.store.arenaBytes).toBeLessThanOrEqual(2 * h.store.liveBytes + 2 * 1024);
  });

  it('refuses an entry larger than a slab and keeps what it holds', () => {
    const h = harness(10, 2048, 1024);
    h.put('small', enc('x'));
    expect(h.put('huge', Buffer.alloc(1100))).toBe(NO_SLOT);
    expect(h.find('small')).not.toBe(NO_SLOT);
  });

  it('counts exactly what it holds: slabs, columns and index, and grows columns by doubling', () => {
    const h = harness(100_000, 1 << 22, 1 << 20);
    const empty = h.store.bytes;
    expect(h.store.arenaBytes).toBe(0);
    for (let i = 0; i < 3000; i++) h.put(`n${i}`, Buffer.alloc(40));
    expect(h.store.arenaBytes).toBe(1 << 20);
    expect(h.store.capacity).toBe(4096);
    expect(h.store.bytes).toBeGreaterThan(empty + (1 << 20));
    expect(h.store.bytes).toBeLessThan((1 << 20) + 4096 * 64);
  });

  it('gives a freed slot a new generation, so a stale reference can tell', () => {
    const h = harness(10, 4096, 1024);
    const slot = h.put('a', enc('1'));
    const gen = h.store.generation(slot);
    h.store.delete(slot);
    const again = h.put('b', enc('2'));
    expect(again).toBe(slot);
    expect(h.store.generation(again)).not.toBe(gen);
  });
});
