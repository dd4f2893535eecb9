import type { Logger } from 'pino';
import { BallastError } from '../errors.js';
import { Gauge, type Registry } from '../observe/prom.js';
import type { Clock, Timer } from '../util/clock.js';

/**
 * Fault injection on the upstream side of ballast (docs/design.md §9): the breaker, stale serving and coalescing react
 * exactly as in a real outage, because the fault sits where the network would be — in the upstream transport.
 *
 * - `blackhole`: queries are swallowed; every exchange times out.
 * - `servfail` / `refused`: every exchange gets that rcode back (CoreDNS without its API server answers SERVFAIL).
 * - `delay`: every exchange waits `delayMs` first (and times out when that exceeds its timeout).
 * - `drop`: `percent` of exchanges are swallowed.
 */
export const FAULT_KINDS = ['blackhole', 'servfail', 'refused', 'delay', 'drop'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Required: the fault ends by itself after this long (at most chaos.maxDurationSeconds). */
  readonly durationSeconds: number;
  /** Only exchanges for this zone ("cluster.local"); all zones when absent. */
  readonly zone?: string;
  /** Only this upstream ("10.96.0.10:53"); all upstreams when absent. */
  readonly upstream?: string;
  readonly delayMs?: number;
  readonly percent?: number;
}

export interface Fault extends FaultSpec {
  readonly id: string;
  readonly startedAt: string;
  readonly endsAt: string;
}

/** A fault spec that failed validation; the admin API answers 400 with this message. */
export class FaultSpecError extends BallastError {
  override readonly code = 'BALLAST_FAULT_INVALID';
}

/** Checks an untrusted JSON body; the message names the field, the value and what is allowed. */
export function parseFaultSpec(body: unknown, maxDurationSeconds: number): FaultSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new FaultSpecError('expected a JSON object');
  const b = body as Record<string, unknown>;
  const known = new Set(['kind', 'durationSeconds', 'zone', 'upstream', 'delayMs', 'percent']);
  for (const k of Object.keys(b)) if (!known.has(k)) throw new FaultSpecError(`unknown field ${JSON.stringify(k)}`);
  const bad = (field: string, allowed: string) =>
    new FaultSpecError(`${field}: got ${JSON.stringify(b[field])}; expected ${allowed}`);
  if (!FAULT_KINDS.includes(b.kind as FaultKind)) throw bad('kind', FAULT_KINDS.join(' | '));
  const kind = b.kind as FaultKind;
  const d = b.durationSeconds;
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0 || d > maxDurationSeconds) {
    throw bad('durationSeconds', `a number of seconds in (0, ${maxDurationSeconds}] (chaos.maxDurationSeconds)`);
  }
  for (const f of ['zone', 'upstream'] as const) {
    if (b[f] !== undefined && (typeof b[f] !== 'string' || b[f] === '')) throw bad(f, 'a non-empty string');
  }
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { kind, durationSeconds: d };
  if (b.zone !== undefined) spec.zone = (b.zone as string).toLowerCase().replace(/\.$/, '') || '.';
  if (b.upstream !== undefined) spec.upstream = b.upstream as string;
  if (kind === 'delay') {
    if (typeof b.delayMs !== 'number' || !Number.isInteger(b.delayMs) || b.delayMs < 1 || b.delayMs > 60_000) {
      throw bad('delayMs', 'an integer 1–60000 (required for kind delay)');
    }
    spec.delayMs = b.delayMs;
  } else if (b.delayMs !== undefined) throw bad('delayMs', 'nothing (only for kind delay)');
  if (kind === 'drop') {
    if (typeof b.percent !== 'number' || !(b.percent > 0 && b.percent <= 100))
      throw bad('percent', 'a number in (0, 100] (required for kind drop)');
    spec.percent = b.percent;
  } else if (b.percent !== undefined) throw bad('percent', 'nothing (only for kind drop)');
  return spec;
}

interface Active {
  readonly fault: Fault;
  readonly timer: Timer;
}

/** The active faults: added over the admin API, each ending by itself; logged and shown in a gauge. */
export class FaultInjector {
  private readonly active = new Map<string, Active>();
  private seq = 0;
  private readonly gauge: Gauge<'kind'>;

  constructor(
    private readonly maxDurationSeconds: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.gauge = new Gauge({
      name: 'ballast_chaos_faults_active',
      help: 'Chaos faults injected right now, by kind (blackhole, servfail, refused, delay, drop).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    for (const k of FAULT_KINDS) this.gauge.labels(k).set(0);
  }

  /** Adds a fault from an untrusted body; throws FaultSpecError naming the bad field. */
  add(body: unknown): Fault {
    const spec = parseFaultSpec(body, this.maxDurationSeconds);
    const now = this.clock.now();
    const id = `f${++this.seq}`;
    const fault: Fault = {
      ...spec,
      id,
      startedAt: new Date(now).toISOString(),
      endsAt: new Date(now + spec.durationSeconds * 1000).toISOString(),
    };
    const timer = this.clock.setTimer(() => this.remove(id, 'expired'), spec.durationSeconds * 1000);
    this.active.set(id, { fault, timer });
    this.gauge.labels(spec.kind).inc();
    this.log.warn({ fault }, 'chaos fault on');
    return fault;
  }

  list(): Fault[] {
    return [...this.active.values()].map((a) => a.fault);
  }

  /** Removes one fault, or all; returns how many ended. */
  clear(id?: string): number {
    const ids = id === undefined ? [...this.active.keys()] : [id];
    return ids.filter((i) => this.remove(i, 'cleared')).length;
  }

  private remove(id: string, why: 'expired' | 'cleared'): boolean {
    const a = this.active.get(id);
    if (a === undefined) return false;
    a.timer.cancel();
    this.active.delete(id);
    this.gauge.labels(a.fault.kind).dec();
    this.log.warn({ id, kind: a.fault.kind, why }, 'chaos fault off');
    return true;
  }

  /** The first active fault that applies to an exchange with `upstream` for `zone`. Cheap when none is active. */
  match(upstream: string, zone: string): Fault | undefined {
    if (this.active.size === 0) return undefined;
    for (const { fault } of this.active.values()) {
      if (
        (fault.upstream === undefined || fault.upstream === upstream) &&
        (fault.zone === undefined || fault.zone === zone)
      ) {
        return fault;
      }
    }
    return undefined;
  }
}
