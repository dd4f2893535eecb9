import { randomFillSync } from 'node:crypto';

/** A source of randomness, injected so tests are deterministic. */
export interface Random {
  /** A uniform float in [0, 1). */
  float(): number;
  /** A uniform 16-bit integer, unpredictable to an off-path attacker (DNS message IDs, RFC 5452 §9.2). */
  id16(): number;
}

// Message IDs come from the CSPRNG, drawn in blocks: one syscall per 4,096 IDs rather than per query.
const POOL_IDS = 4096;
const pool = new Uint16Array(POOL_IDS);
let poolPos = POOL_IDS;

export const systemRandom: Random = {
  float: () => Math.random(),
  id16() {
    if (poolPos === POOL_IDS) {
      randomFillSync(pool);
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
