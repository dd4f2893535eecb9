// The cluster's DNS as the fleet sees it: CoreDNS replicas behind the kube-dns-upstream Service, the API server their
// informers watch, and the network between them and the nodes; plus the node's own resolver for everything outside
// the cluster zone. Only these are modelled; the node caches in front are the real ballast (or the NodeLocal model).
// Every number is a parameter documented in docs/fleet.md.

import type { Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Sim } from './engine.js';
import type { Params } from './model.js';
import { type Name, QTYPE, RCODE } from './names.js';
import type { Stats } from './stats.js';

/** What a node learns of one query: an rcode, or that it timed out or was refused. */
export type ExchangeResult = { rcode: number; error?: undefined } | { error: 'timeout' | 'refused'; rcode?: undefined };

/** A server a node asks: CoreDNS or the node's resolver. `name` undefined is a health check of no name. */
export interface DnsServer {
  exchange(
    rng: Random,
    name: Name | undefined,
    qtype: number,
    timeoutMs: number,
    done: (result: ExchangeResult) => void,
  ): Timer;
}

/**
 * One replica: a FIFO server of `qps` queries per second (latency grows with its backlog), REFUSED beyond
 * `maxConcurrent` queries in it (CoreDNS `max_concurrent`), a cache capped at 30 s, and an informer that is either
 * synced or not (a replica started while the API server is down answers SERVFAIL for cluster names).
 */
class Replica {
  busyUntil = 0;
  /** Expiry of each cached answer, by name, for A (and anything else) and AAAA. */
  readonly cache = new Map<Name, number>();
  readonly cache6 = new Map<Name, number>();
  synced = true;
  /** An informer that listed nothing: NXDOMAIN for every cluster name (the wrong-negatives scenario). */
  empty = false;
  /** Until when the process is down (a restart): connections to it are refused. */
  downUntil = -1;

  constructor(
    readonly qps: number,
    readonly maxConcurrent: number,
  ) {}
}

export class CoreDns implements DnsServer {
  readonly replicas: Replica[];
  apiUp = true;
  partitioned = false;
  capacityFactor = 1;

  /**
   * @param sim the simulation (virtual clock)
   * @param p the model's parameters
   * @param stats where offered load and answers are counted
   */
  constructor(
    private readonly sim: Sim,
    private readonly p: Params,
    private readonly stats: Stats,
  ) {
    const { replicas, qps, maxConcurrent } = scaleReplicas(p);
    this.replicas = Array.from({ length: replicas }, () => new Replica(qps, maxConcurrent));
  }

  /** Total capacity now, queries per second, for the sample (a restarting replica has none). */
  capacity(nowMs: number): number {
    let c = 0;
    for (const r of this.replicas) if (nowMs >= r.downUntil) c += r.qps * this.capacityFactor;
    return c;
  }

  /** The API server goes down: informers freeze (they keep what they had and go on answering from it). */
  apiDown(): void {
    this.apiUp = false;
  }

  /** The API server is back: replicas that restarted meanwhile list everything again, then answer. */
  apiBack(syncMs: number): void {
    this.apiUp = true;
    for (const r of this.replicas) {
      if (!r.synced) this.sim.after(syncMs, () => void (this.apiUp && (r.synced = true)));
    }
  }

  /** Replica `i` restarts: down for `gapMs` (connections refused), its cache lost, unsynced unless the API is up. */
  restart(i: number, gapMs: number, syncMs: number): void {
    const r = this.replicas[i];
    r.downUntil = this.sim.t + gapMs;
    r.cache.clear();
    r.cache6.clear();
    r.busyUntil = 0;
    r.synced = false;
    if (this.apiUp) this.sim.after(gapMs + syncMs, () => void (this.apiUp && (r.synced = true)));
  }

  /**
   * One query from a node to the Service: a random replica (kube-proxy's random backend choice), then `done(result)`
   * at the virtual time the node would learn it — `{ rcode }`, `{ error: 'timeout' }` after `timeoutMs`, or
   * `{ error: 'refused' }` one round trip later. Returns what cancels the delivery (the node gave up on it).
   */
  exchange(
    rng: Random,
    name: Name | undefined,
    qtype: number,
    timeoutMs: number,
    done: (result: ExchangeResult) => void,
  ): Timer {
    const now = this.sim.t;
    const sec = this.stats.second(now);
    const half = this.p.rttMs / 2;
    const r = this.replicas[Math.floor(rng.float() * this.replicas.length)];
    // A connection refused by a restarting replica's kernel is not a query CoreDNS sees; a query lost in a
    // partition is, as far as the node can tell (it would have arrived).
    if (now < r.downUntil && !this.partitioned) {
      this.stats.add('connRefused', sec);
      return this.deliver(this.p.rttMs, timeoutMs, { error: 'refused' }, done);
    }
    this.stats.add('offered', sec);
    // Health checks: ballast's probes ask the zone apex's SOA, NodeLocal's forward plugin asks ". IN NS" (no name).
    const probe = name === undefined || (name.isApex && qtype === QTYPE.SOA);
    if (probe) this.stats.add('probes', sec);
    if (this.partitioned) return this.deliver(timeoutMs, timeoutMs, { error: 'timeout' }, done);
    const arrive = now + half;
    const serviceMs = 1000 / (r.qps * this.capacityFactor);
    const backlog = Math.max(0, r.busyUntil - arrive) / serviceMs;
    if (backlog >= r.maxConcurrent) {
      this.stats.add('refused', sec);
      if (probe) this.stats.add('probeErrors', sec);
      return this.deliver(this.p.rttMs, timeoutMs, { rcode: RCODE.REFUSED }, done);
    }
    r.busyUntil = Math.max(arrive, r.busyUntil) + serviceMs;
    const rcode = this.answer(r, name, qtype, arrive);
    this.stats.add(rcode === RCODE.SERVFAIL ? 'servfail' : 'answered', sec);
    if (probe && rcode === RCODE.SERVFAIL) this.stats.add('probeErrors', sec);
    return this.deliver(r.busyUntil + half - now, timeoutMs, { rcode }, done);
  }

  /**
   * What a replica answers: SERVFAIL for the cluster zone while its informer has not synced, NXDOMAIN for every cluster
   * name while its informer is empty (but its own SOA); else from cache or data.
   */
  private answer(r: Replica, name: Name | undefined, qtype: number, now: number): number {
    if (name === undefined) return RCODE.NOERROR; // the forward plugin's health check, ". IN NS"
    if (name.cluster && !r.synced) return RCODE.SERVFAIL;
    if (name.cluster && r.empty && !name.isApex) return RCODE.NXDOMAIN;
    const cache = qtype === QTYPE.AAAA ? r.cache6 : r.cache;
    const cached = cache.get(name);
    if (cached !== undefined && cached > now) {
      this.stats.add('corednsCacheHits', this.stats.second(now));
    } else {
      const ttl = name.exists && qtype !== QTYPE.AAAA ? name.ttl : name.negTtl;
      cache.set(name, now + Math.min(ttl, this.p.corednsCacheCapSeconds) * 1000);
    }
    return name.exists || name.isApex ? RCODE.NOERROR : RCODE.NXDOMAIN;
  }

  private deliver(
    delayMs: number,
    timeoutMs: number,
    result: ExchangeResult,
    done: (result: ExchangeResult) => void,
  ): Timer {
    const late = delayMs > timeoutMs;
    const timer = this.sim.after(late ? timeoutMs : delayMs, () => done(late ? { error: 'timeout' } : result));
    return timer;
  }
}

/** The node's own resolver (the cloud's DNS, for names outside the cluster zone): always up, a fixed round trip. */
export class NodeResolver implements DnsServer {
  constructor(
    private readonly sim: Sim,
    private readonly p: Params,
  ) {}

  exchange(
    _rng: Random,
    name: Name | undefined,
    _qtype: number,
    timeoutMs: number,
    done: (result: ExchangeResult) => void,
  ): Timer {
    const rcode = name === undefined || name.exists || name.isApex ? RCODE.NOERROR : RCODE.NXDOMAIN;
    return this.sim.after(Math.min(this.p.resolverRttMs, timeoutMs), () => done({ rcode }));
  }
}

/**
 * The sample's CoreDNS: the fleet's replica count from the DNS autoscaler's linear rule (one per `nodesPerReplica`
 * nodes), scaled by sample/fleet; the total capacity is scaled exactly, so each sampled node meets the same share of
 * CoreDNS as one of the whole fleet, and `max_concurrent` with it, so a full replica queues as long.
 */
export function scaleReplicas(
  p: Pick<Params, 'fleetNodes' | 'nodesPerReplica' | 'nodes' | 'replicaQps' | 'maxConcurrent'>,
) {
  const fleetReplicas = Math.ceil(p.fleetNodes / p.nodesPerReplica);
  const share = p.nodes / p.fleetNodes;
  const replicas = Math.max(2, Math.round(fleetReplicas * share));
  const total = fleetReplicas * p.replicaQps * share;
  const qps = total / replicas;
  const maxConcurrent = Math.max(1, Math.round((p.maxConcurrent * qps) / p.replicaQps));
  return { fleetReplicas, replicas, qps, maxConcurrent, total };
}
