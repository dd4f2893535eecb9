import { closeSync, openSync, readSync } from 'node:fs';

/** A source of randomness, injected so tests are deterministic. */
export interface Random {
  /** A uniform float in [0, 1). */
  float(): number;
  /** A uniform 16-bit integer, unpredictable to an off-path attacker (DNS message IDs, RFC 5452 §9.2). */
  id16(): number;
}

/**
 * Fills `view` from the kernel's CSPRNG (/dev/urandom: on Linux the same generator as getrandom(2), never blocking
 * once the system has booted). Read through the file rather than node:crypto, which the serving process would load
 * for nothing else: about 0.5 MiB of resident memory on every node (docs/performance.md §2).
 */
export function fillRandom<T extends ArrayBufferView>(view: T): T {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, bytes, at, bytes.length - at, null);
      if (n <= 0) throw new Error('/dev/urandom returned no bytes');
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return view;
}

/** `bytes` random bytes as lowercase hex (instance IDs, probe labels). */
export function randomHex(bytes: number): string {
  return Buffer.from(fillRandom(new Uint8Array(bytes))).toString('hex');
}

// Message IDs come from the CSPRNG, drawn in blocks: one read per 4,096 IDs rather than per query.
const POOL_IDS = 4096;
const pool = new Uint16Array(POOL_IDS);
let poolPos = POOL_IDS;

export const systemRandom: Random = {
  float: () => Math.random(),
  id16() {
    if (poolPos === POOL_IDS) {
      fillRandom(pool);
      poolPos = 0;
    }
    return pool[poolPos++];
  },
};

/** A seeded generator (mulberry32) for tests and simulations. Never for message IDs in production. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { float: next, id16: () => Math.floor(next() * 65536) };
}
