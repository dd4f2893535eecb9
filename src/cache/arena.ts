/**
 * Byte storage for the cache (docs/performance.md §1): a few large `ArrayBuffer` slabs, each filled front to back,
 * instead of a Buffer per entry. The garbage collector sees one object per slab (1 MiB), never one per entry, and
 * the bytes held are exactly the slabs allocated.
 *
 * Every block starts with an 8-byte header — the owner (a slot number of the store) and the block's length — so a
 * slab can be walked in address order. Freeing a block only marks it dead (owner FREE) and counts its bytes as
 * reclaimable; `compact(slab)` slides the live blocks of one slab to its front (one `copyWithin` each, a memmove)
 * and tells the owner of each moved block its new offset. Why compaction and not size classes or a buddy allocator:
 * the store evicts in least-recently-used order (stale tier first, docs/design.md §4), so the bytes freed are
 * scattered over every slab and of every size. Size classes would have to evict by class, not by recency; a
 * buddy allocator would evict until two freed neighbours happen to merge. Compacting the slab with the most dead
 * bytes turns any scattered bytes into room, with the eviction order untouched, at the cost of moving the slab's
 * live bytes once per refill (docs/performance.md §1 measures it).
 *
 * It knows nothing of keys or DNS; the store decides what to evict and when to compact.
 */

/** Owner of a dead block. */
export const FREE = 0xffffffff;
/** Header: owner (u32), block length in bytes (u32). */
export const BLOCK_HEADER = 8;
/** Blocks start on 4-byte boundaries, so headers are read as one Uint32Array element each. */
const ALIGN = 4;

export const blockSize = (payload: number): number => (BLOCK_HEADER + payload + ALIGN - 1) & ~(ALIGN - 1);

/** Where a block lives: the slab and the offset of its header. */
export type Moved = (owner: number, offset: number) => void;

export class Arena {
  readonly slabBytes: number;
  readonly maxSlabs: number;
  /** The slabs allocated so far, as bytes and as 32-bit words over the same memory. */
  readonly bytes: Uint8Array[] = [];
  private readonly words: Uint32Array[] = [];
  /** Per slab: end of the last block (the next block goes there) and bytes held by live blocks. */
  private top: number[] = [];
  private live: number[] = [];
  /** The slab new blocks go to. */
  private open = -1;

  /**
   * `maxBytes` bounds the slabs: at most floor(maxBytes / slabBytes) of them, and a single slab of maxBytes when
   * that is less than one.
   */
  constructor(maxBytes: number, slabBytes: number) {
    this.slabBytes = Math.max(Math.min(slabBytes, maxBytes), 64) & ~(ALIGN - 1);
    this.maxSlabs = Math.max(1, Math.floor(maxBytes / this.slabBytes));
  }

  /** Bytes of slab memory held. */
  get heldBytes(): number {
    return this.bytes.length * this.slabBytes;
  }

  /** Bytes in dead blocks or never used, across the slabs held. */
  get deadBytes(): number {
    return this.heldBytes - this.liveBytes;
  }

  /** Bytes in live blocks (headers and padding included). */
  get liveBytes(): number {
    let sum = 0;
    for (const l of this.live) sum += l;
    return sum;
  }

  /** Whether a payload of this size can ever be stored. */
  fits(payload: number): boolean {
    return blockSize(payload) <= this.slabBytes;
  }

  /**
   * Room for a block of `payload` bytes without evicting anything: in the open slab; else in the slab with the most
   * dead bytes once compacted, when it would reclaim at least `minReclaim` and the slabs held are a quarter dead or
   * no new slab is allowed; else in a new slab while the bound allows one. Returns the slab and offset packed as
   * slab * slabBytes + offset, or -1.
   *
   * Compacting before growing keeps the slabs held near the live bytes under churn (a stream of new names evicting
   * old ones frees bytes everywhere): growing first would fill every slab the bound allows with dead blocks, and
   * the process would hold cache.maxBytes whatever the cache holds (docs/performance.md §1).
   */
  allocate(owner: number, payload: number, minReclaim: number, moved: Moved): number {
    const size = blockSize(payload);
    if (size > this.slabBytes) return -1;
    if (this.open === -1 || this.slabBytes - this.top[this.open] < size) {
      const canGrow = this.bytes.length < this.maxSlabs;
      const best = this.bytes.length > 0 ? this.mostReclaimable() : -1;
      const reclaim = best === -1 ? 0 : this.slabBytes - this.live[best];
      const worthIt = reclaim >= size && reclaim >= minReclaim;
      if (worthIt && (!canGrow || this.deadBytes * 4 >= this.heldBytes)) {
        this.compact(best, moved);
        this.open = best;
      } else if (canGrow) {
        this.addSlab();
      } else {
        return -1;
      }
    }
    const s = this.open;
    const at = this.top[s];
    const w = this.words[s];
    w[at >>> 2] = owner;
    w[(at >>> 2) + 1] = size;
    this.top[s] = at + size;
    this.live[s] += size;
    return s * this.slabBytes + at;
  }

  /** Marks the block at `slab`/`offset` dead; its bytes come back when its slab is compacted. */
  free(slab: number, offset: number): void {
    const w = this.words[slab];
    w[offset >>> 2] = FREE;
    this.live[slab] -= w[(offset >>> 2) + 1];
    if (this.live[slab] === 0) {
      // An empty slab needs no compaction: it starts over.
      this.top[slab] = 0;
    }
  }

  /** The most bytes a compaction could reclaim now, in one slab. */
  get bestReclaim(): number {
    return this.bytes.length === 0 ? 0 : this.slabBytes - this.live[this.mostReclaimable()];
  }

  private mostReclaimable(): number {
    let best = 0;
    for (let s = 1; s < this.live.length; s++) if (this.live[s] < this.live[best]) best = s;
    return best;
  }

  private addSlab(): void {
    const buffer = new ArrayBuffer(this.slabBytes);
    this.bytes.push(new Uint8Array(buffer));
    this.words.push(new Uint32Array(buffer));
    this.top.push(0);
    this.live.push(0);
    this.open = this.bytes.length - 1;
  }

  /** Slides the live blocks of `slab` to its front, in address order, reporting each block that moved. */
  compact(slab: number, moved: Moved): void {
    const bytes = this.bytes[slab];
    const w = this.words[slab];
    const end = this.top[slab];
    let read = 0;
    let write = 0;
    while (read < end) {
      const owner = w[read >>> 2];
      const size = w[(read >>> 2) + 1];
      if (owner !== FREE) {
        if (read !== write) {
          bytes.copyWithin(write, read, read + size);
          moved(owner, slab * this.slabBytes + write);
        }
        write += size;
      }
      read += size;
    }
    this.top[slab] = write;
  }
}
