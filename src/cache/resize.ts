import { hashKey } from './key.js';
import type { EntryColumns } from './state.js';
import { NO_SLOT, type Store } from './store.js';

/**
 * Moves every entry of `from` into `to` (a config reload that changed the cache's bounds): key, value and columns,
 * stale ones first and each tier least recently used first, so the recency order survives. When `to` is smaller, its
 * own eviction drops the least recently used as they come in, stale ones first. `columns()` is read after every
 * insert: `to` may grow, and growing replaces its columns. `scratch` holds one key (MAX_KEY_LENGTH bytes).
 */
export function moveEntries(
  from: Store,
  fromColumns: EntryColumns,
  to: Store,
  columns: () => EntryColumns,
  scratch: Uint8Array,
): void {
  for (const tier of ['secondary', 'primary'] as const) {
    for (const s of from.slots(tier, true)) {
      const slab = from.slab(s);
      const keyAt = from.keyOffset(s);
      const keyLength = from.keyLength(s);
      const valueLength = from.valueLength(s);
      scratch.set(slab.subarray(keyAt, keyAt + keyLength));
      const slot = to.insert(scratch, keyLength, hashKey(scratch, keyLength), valueLength);
      if (slot === NO_SLOT) continue;
      const at = from.valueOffset(s);
      to.slab(slot).set(slab.subarray(at, at + valueLength), to.valueOffset(slot));
      const c = columns();
      for (const name of Object.keys(c) as (keyof EntryColumns)[]) c[name][slot] = fromColumns[name][s];
      if (tier === 'secondary') to.demote(slot);
    }
  }
}
