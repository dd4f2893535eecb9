import type { Logger } from 'pino';
import type { Zone } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import { type BudgetOptions, ZoneBudget } from './zone-budget.js';

/** Whether any upstream of the zone may take client traffic now: the one place zone health is asked. */
export function zoneHealthy(zone: Zone): boolean {
  return zone.routes.some((r) => r.acceptsTraffic);
}

/** A zone as one query sees it: its health read once, and what the request path keeps for it. */
export interface ZoneView {
  readonly zone: Zone;
  /** Some upstream accepts client traffic (docs/design.md §4's "upstream state"): the zone is up. */
  readonly acceptsTraffic: boolean;
  /** Some upstream accepts traffic and has room under its in-flight window. */
  readonly hasRoom: boolean;
  /** Changes when any upstream of the zone recovers: failure holds from an earlier epoch are void (failures.ts). */
  readonly epoch: number;
  readonly budget: ZoneBudget;
}

/**
 * The zone's epoch: the newest of its routes' stamps, which change (to a value never seen before) when a route comes
 * back from being down, or is new.
 */
export function zoneEpoch(zone: Zone): number {
  let epoch = 0;
  for (const r of zone.routes) epoch = Math.max(epoch, r.epoch);
  return epoch;
}

interface ZoneState {
  readonly budget: ZoneBudget;
  /** Since when the zone has been answered from stale for lack of upstreams, and how many answers so far. */
  staleSince: number | undefined;
  staleCount: number;
}

/**
 * What the request path remembers per zone: its refresh budget, and whether it is serving stale because every
 * upstream is down (logged once when that starts and once when it ends, docs/design.md §8).
 */
export class ZoneStates {
  private readonly states = new Map<string, ZoneState>();

  constructor(
    private budgetOptions: BudgetOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** New budget settings: budgets are rebuilt on next use, and their learned rates start over. */
  configure(budgetOptions: BudgetOptions): void {
    this.budgetOptions = budgetOptions;
    this.states.clear();
  }

  /** Reads the zone's health once for this query, and tells the budget and the stale log about it. */
  view(zone: Zone): ZoneView {
    const healthy = zoneHealthy(zone);
    const state = this.state(zone);
    state.budget.observeHealth(healthy);
    if (healthy && state.staleSince !== undefined) {
      const seconds = Math.round((this.clock.now() - state.staleSince) / 1000);
      this.log.info({ zone: zone.name, seconds, staleAnswers: state.staleCount }, 'stale serving ended');
      state.staleSince = undefined;
      state.staleCount = 0;
    }
    const hasRoom = healthy && zone.routes.some((r) => r.hasRoom);
    return { zone, acceptsTraffic: healthy, hasRoom, epoch: zoneEpoch(zone), budget: state.budget };
  }

  /** A stale answer went out because every upstream of the zone is down. */
  servedStaleWhileDown(zone: Zone): void {
    const state = this.state(zone);
    state.staleCount++;
    if (state.staleSince === undefined) {
      state.staleSince = this.clock.now();
      this.log.warn({ zone: zone.name }, 'stale serving started: every upstream of the zone is down');
    }
  }

  private state(zone: Zone): ZoneState {
    let s = this.states.get(zone.name);
    if (s === undefined) {
      s = { budget: new ZoneBudget(this.budgetOptions, this.clock), staleSince: undefined, staleCount: 0 };
      this.states.set(zone.name, s);
    }
    return s;
  }
}
