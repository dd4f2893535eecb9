import type { Random } from '../util/random.js';
import type { Route } from './route.js';

/**
 * How a zone spreads queries over its upstreams (CoreDNS `forward` policy names):
 * - `random`: uniform choice, the default — no upstream is everyone's first choice;
 * - `round_robin`: in turn;
 * - `sequential`: always the first, the next only as a fallback.
 */
export type SelectPolicy = 'random' | 'round_robin' | 'sequential';

export interface Selector {
  /** The upstreams to try for one query, in order of preference. */
  order(routes: readonly Route[]): readonly Route[];
}

export function createSelector(policy: SelectPolicy, random: Random): Selector {
  switch (policy) {
    case 'sequential':
      return { order: (u) => u };
    case 'round_robin': {
      let next = 0;
      return { order: (u) => rotate(u, next++ % Math.max(u.length, 1)) };
    }
    case 'random':
      return { order: (u) => rotate(u, Math.floor(random.float() * u.length)) };
  }
}

function rotate(u: readonly Route[], start: number): readonly Route[] {
  if (start === 0 || u.length < 2) return u;
  return [...u.slice(start), ...u.slice(0, start)];
}
