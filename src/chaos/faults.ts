import type { Logger } from 'pino';
import { BallastError } from '../errors.js';
import { Gauge, type Registry } from '../observe/prom.js';
import type { Clock, Timer } from '../util/clock.js';

/**
 * Fault injection on the upstream side of ballast (docs/design.md §9): the health model, retransmission, stale serving
 * and coalescing react exactly as in a real outage, because the fault sits where the network would be — between the
 * upstream object and its transport (chaos/interceptor.ts).
 *
 * Whole-upstream faults:
 * - `blackhole`: queries are swallowed; every attempt times out.
 * - `servfail` / `refused`: every attempt gets that rcode back (CoreDNS without its API server answers SERVFAIL).
 * - `delay`: every attempt waits `delayMs` first.
 * - `drop`: `percent` of attempts are swallowed.
 * Partial faults, the ones real clusters mostly see:
 * - `lame`: `percent` of names are never answered (the same names every time: a lame delegation, a dead domain).
 * - `slow`: every answer comes after `delayMs` plus up to `spreadMs` more, at random (a cold recursion).
 * - `loss`: `percent` of UDP datagrams are lost, each way, independently (a lossy path).
 * - `overload`: REFUSED above `concurrency` attempts in flight (CoreDNS's max_concurrent).
 * Wrong answers, from an upstream that is up (docs/resilience.md, "Last known good"):
 * - `nxdomain` / `nodata`: every answer is NXDOMAIN, or NOERROR with no records, with the zone's SOA (TTL 5): a
 *   CoreDNS replica with an empty informer, emptied Endpoints, a zone published empty.
 * - `mixed`: `percent` of answers are NXDOMAIN, the rest right (one broken replica behind the Service).
 */
export const FAULT_KINDS = [
  'blackhole',
  'servfail',
  'refused',
  'delay',
  'drop',
  'lame',
  'slow',
  'loss',
  'overload',
  'nxdomain',
  'nodata',
  'mixed',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  readonly kind: FaultKind;
  /** Required: the fault ends by itself after this long (at most chaos.maxDurationSeconds). */
  readonly durationSeconds: number;
  /** Only exchanges for this zone ("cluster.local"); all zones when absent. */
  readonly zone?: string;
  /** Only this upstream ("10.96.0.10:53"); all upstreams when absent. */
  readonly upstream?: string;
  /** delay, slow. */
  readonly delayMs?: number;
  /** slow: the extra delay is uniform in [0, spreadMs]. */
  readonly spreadMs?: number;
  /** drop, lame, loss, mixed. */
  readonly percent?: number;
  /** overload. */
  readonly concurrency?: number;
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

/** Which numeric fields each kind takes, with what is allowed. */
const FIELDS: Record<string, { kinds: readonly FaultKind[]; ok: (v: number) => boolean; allowed: string }> = {
  delayMs: {
    kinds: ['delay', 'slow'],
    ok: (v) => Number.isInteger(v) && v >= 1 && v <= 60_000,
    allowed: 'an integer 1–60000',
  },
  spreadMs: { kinds: ['slow'], ok: (v) => Number.isInteger(v) && v >= 0 && v <= 60_000, allowed: 'an integer 0–60000' },
  percent: {
    kinds: ['drop', 'lame', 'loss', 'mixed'],
    ok: (v) => v > 0 && v <= 100,
    allowed: 'a number in (0, 100]',
  },
  concurrency: {
    kinds: ['overload'],
    ok: (v) => Number.isInteger(v) && v >= 0 && v <= 100_000,
    allowed: 'an integer 0–100000',
  },
};

/** Checks an untrusted JSON body; the message names the field, the value and what is allowed. */
export function parseFaultSpec(body: unknown, maxDurationSeconds: number): FaultSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new FaultSpecError('expected a JSON object');
  const b = body as Record<string, unknown>;
  const known = new Set(['kind', 'durationSeconds', 'zone', 'upstream', ...Object.keys(FIELDS)]);
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
  const spec: Record<string, unknown> = { kind, durationSeconds: d };
  if (b.zone !== undefined) spec.zone = (b.zone as string).toLowerCase().replace(/\.$/, '') || '.';
  if (b.upstream !== undefined) spec.upstream = b.upstream;
  for (const [field, rule] of Object.entries(FIELDS)) {
    const v = b[field];
    const required = rule.kinds.includes(kind) && field !== 'spreadMs';
    if (v === undefined) {
      if (required) throw bad(field, `${rule.allowed} (required for kind ${kind})`);
      continue;
    }
    if (!rule.kinds.includes(kind)) throw bad(field, `nothing (only for kind ${rule.kinds.join(' or ')})`);
    if (typeof v !== 'number' || !rule.ok(v)) throw bad(field, rule.allowed);
    spec[field] = v;
  }
  return spec as unknown as FaultSpec;
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
      help: `Chaos faults injected right now, by kind (${FAULT_KINDS.join(', ')}).`,
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
