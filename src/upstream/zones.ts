import { encodeName } from '../wire/index.js';
import type { Route } from './route.js';
import type { Selector } from './select.js';
import type { Protocol } from './transport.js';

/**
 * What a zone does with a negative answer for a name its cache holds a positive answer for (resolve/contest.ts):
 * pass it on, keep the positive one until the negative is confirmed and the upstream is not judged wrong, or always
 * keep the positive one.
 */
export type LastKnownGoodPolicy = 'off' | 'correlated' | 'prefer-positive';

/** Where queries under one zone go. The root zone "." catches everything else. */
export interface Zone {
  /** Presentation form, lower case, no trailing dot ("." for the root). */
  readonly name: string;
  /** How many labels the name has (0 for the root). */
  readonly labels: number;
  /** The zone's upstreams, each with the health it has for this zone. */
  readonly routes: readonly Route[];
  readonly protocol: Protocol;
  /** How long one query may take, retransmissions included, before it has failed. */
  readonly deadlineMs: number;
  readonly lastKnownGood: LastKnownGoodPolicy;
  readonly selector: Selector;
}

/**
 * Longest-suffix zone matching on label boundaries. Keys are wire-format names (the same lower-cased latin1 form as
 * Query.qname), so a lookup walks the query's labels from the longest suffix down and needs no string parsing.
 */
export class ZoneTable {
  private readonly byWireName = new Map<string, Zone>();
  private readonly root: Zone;

  constructor(zones: readonly Zone[]) {
    let root: Zone | undefined;
    for (const z of zones) {
      if (z.name === '.') root = z;
      else this.byWireName.set(encodeName(z.name).toString('latin1'), z);
    }
    if (root === undefined) throw new Error('zone table needs a root zone "."');
    this.root = root;
  }

  /**
   * The zone for a query. With the root zone alone (the DaemonSet's default) the query's name is not read, so a
   * stale answer during an outage builds no name string (docs/performance.md §3).
   */
  matchQuery(q: { readonly qname: string }): Zone {
    return this.byWireName.size === 0 ? this.root : this.match(q.qname);
  }

  /** The most specific zone for a wire-format, lower-cased qname. */
  match(qname: string): Zone {
    if (this.byWireName.size === 0) return this.root;
    let pos = 0;
    while (pos < qname.length && qname.charCodeAt(pos) !== 0) {
      const zone = this.byWireName.get(pos === 0 ? qname : qname.slice(pos));
      if (zone !== undefined) return zone;
      pos += qname.charCodeAt(pos) + 1;
    }
    return this.root;
  }

  get zones(): Zone[] {
    return [...this.byWireName.values(), this.root];
  }
}
