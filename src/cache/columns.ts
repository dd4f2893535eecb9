/**
 * Per-slot fields as struct-of-arrays: one typed array per field, indexed by slot number, grown together by
 * doubling up to the store's entry bound. A hundred thousand entries are a dozen arrays, not a hundred thousand
 * objects (docs/performance.md §1).
 */
type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

export class Columns<T extends Record<string, TypedArray>> {
  private current: T;
  private length: number;

  constructor(
    private readonly kinds: { [K in keyof T]: new (length: number) => T[K] },
    initial: number,
  ) {
    this.length = initial;
    this.current = this.allocate(initial);
  }

  /** The arrays; read them again after `grow`, which replaces them. */
  get arrays(): T {
    return this.current;
  }

  get capacity(): number {
    return this.length;
  }

  /** Bytes per slot across every array. */
  get bytesPerSlot(): number {
    let sum = 0;
    for (const a of Object.values(this.current)) sum += a.BYTES_PER_ELEMENT;
    return sum;
  }

  /** Bytes held by every array. */
  get bytes(): number {
    let sum = 0;
    for (const a of Object.values(this.current)) sum += a.byteLength;
    return sum;
  }

  /** Grows every array to `length` elements, keeping their contents. */
  grow(length: number): void {
    if (length <= this.length) return;
    const next = this.allocate(length);
    for (const name of Object.keys(next) as (keyof T)[]) next[name].set(this.current[name] as never);
    this.current = next;
    this.length = length;
  }

  private allocate(length: number): T {
    const out = {} as Record<string, TypedArray>;
    for (const name of Object.keys(this.kinds) as (keyof T & string)[]) out[name] = new this.kinds[name](length);
    return out as T;
  }
}
