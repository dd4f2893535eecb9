// The pods of one node: lookups arriving as a Poisson process, each a name drawn from Zipf popularity, resolved the
// way glibc's stub resolver does it (docs/fleet.md, "Pods"): the search list first (ndots:5), A and AAAA in
// parallel for each candidate, `attempts` tries of `timeout` each against the one nameserver (the node-local
// address; with one nameserver `rotate` changes nothing), SERVFAIL and REFUSED tried again and then skipped to the
// next candidate, a timeout ending the lookup, NXDOMAIN moving on.

import type { Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Sim } from './engine.js';
import type { Params } from './model.js';
import { type Name, type Names, QTYPE } from './names.js';
import type { Stats } from './stats.js';

/** A node's DNS cache as its pods see it: ballast or the NodeLocal model. `reply` gets outcome | (stale ? 8 : 0). */
export interface NodeCache {
  ask(name: Name, qtype: number, client: string, reply: (outcome: number) => void): void;
}

/** One thing a pod looks up: a Service or an external name, from a pod of one namespace. */
interface Wanted {
  readonly id: number;
  readonly service: boolean;
  readonly index: number;
  readonly podNs: number;
  candidates: Name[] | undefined;
}

const O_ANSWER = 0;
const O_NODATA = 1;
const O_NXDOMAIN = 2;
const STALE = 8;

/** A Zipf(α) sampler over ranks 0..n-1 (rank 0 the most popular), by binary search of its CDF. */
export class Zipf {
  private readonly cdf: Float64Array;

  constructor(n: number, alpha: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) this.cdf[i] = sum += 1 / (i + 1) ** alpha;
    for (let i = 0; i < n; i++) this.cdf[i] /= sum;
  }

  sample(u: number): number {
    const cdf = this.cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The workload shared by every node: the name table and the popularity of services and external names. */
export class Workload {
  readonly services: Zipf;
  readonly externals: Zipf;

  constructor(
    readonly p: Params,
    readonly names: Names,
  ) {
    this.services = new Zipf(p.services, p.zipfExponent);
    this.externals = new Zipf(p.externals, p.zipfExponent);
  }
}

/**
 * One node's pods, asking `cache` (the node's ballast or NodeLocal model) and recording outcomes in `stats`. A node
 * runs a few applications, so its lookups concentrate on a working set: Services and external names drawn once from
 * the cluster-wide popularity (popular names are on many nodes), each used by pods of one namespace, and asked with
 * Zipf popularity within the set. A small share of lookups draws afresh from the whole cluster's names: the long
 * tail (jobs, new deployments) that a node may never have asked before.
 */
export class Pods {
  readonly w: Workload;
  readonly cache: NodeCache;
  readonly stats: Stats;
  private readonly rng: Random;
  private readonly namespaces: number[];
  private readonly clients: string[];
  private readonly set: Wanted[];
  private readonly local: Zipf;
  /** Lookups this node made before the fault began, by (name, pod namespace): "names seen before the outage". */
  private readonly seen = new Set<number>();
  recordSeen = true;
  private running = false;

  constructor(
    readonly sim: Sim,
    {
      workload,
      cache,
      rng,
      stats,
      index,
    }: { workload: Workload; cache: NodeCache; rng: Random; stats: Stats; index: number },
  ) {
    this.w = workload;
    this.cache = cache;
    this.rng = rng;
    this.stats = stats;
    const p = workload.p;
    this.namespaces = Array.from({ length: p.namespacesPerNode }, () => Math.floor(rng.float() * p.namespaces));
    this.clients = Array.from({ length: p.podsPerNode }, (_, i) => `10.${(index >> 8) & 255}.${index & 255}.${i + 2}`);
    const set = new Map<number, Wanted>();
    const want = p.servicesPerNode + p.externalsPerNode;
    for (let tries = 0; set.size < want && tries < want * 100; tries++) {
      const service = set.size < p.servicesPerNode;
      const entry = this.draw(service);
      if (!set.has(entry.id)) set.set(entry.id, entry);
    }
    this.set = [...set.values()];
    // Shuffled, so that a node's favourite is not always the cluster's.
    for (let i = this.set.length - 1; i > 0; i--) {
      const j = Math.floor(rng.float() * (i + 1));
      [this.set[i], this.set[j]] = [this.set[j], this.set[i]];
    }
    this.local = new Zipf(this.set.length, p.zipfExponent);
  }

  /** A name from the whole cluster's popularity, asked by a pod of one of this node's namespaces. */
  private draw(service: boolean): Wanted {
    const { p, names } = this.w;
    const rng = this.rng;
    const index = service ? this.w.services.sample(rng.float()) : this.w.externals.sample(rng.float());
    let podNs: number;
    if (service && rng.float() < p.sameNamespaceShare) podNs = names.service(index).ns;
    else podNs = this.namespaces[Math.floor(rng.float() * this.namespaces.length)];
    const id = (service ? index : p.services + index) * p.namespaces + podNs;
    return { id, service, index, podNs, candidates: undefined };
  }

  start(): void {
    this.running = true;
    this.scheduleNext();
  }

  stop(): void {
    this.running = false;
  }

  private scheduleNext(): void {
    const gapMs = (-Math.log(1 - this.rng.float()) / this.w.p.lookupsPerSecond) * 1000;
    this.sim.after(gapMs, () => {
      if (!this.running) return;
      this.lookup();
      this.scheduleNext();
    });
  }

  /** One getaddrinfo(): what is looked up, by which pod, then the walk through the search list. */
  private lookup(): void {
    const { p, names } = this.w;
    const rng = this.rng;
    const entry =
      rng.float() < p.newNameShare ? this.draw(rng.float() < p.serviceShare) : this.set[this.local.sample(rng.float())];
    if (this.recordSeen) this.seen.add(entry.id);
    const seen = !this.recordSeen && this.seen.has(entry.id);
    const client = this.clients[Math.floor(rng.float() * this.clients.length)];
    entry.candidates ??= names.candidates(entry.service ? 'service' : 'external', entry.index, entry.podNs);
    new Lookup(this, entry.candidates, client, seen).next(0);
  }
}

/** One lookup's walk through its candidates, as glibc's res_search and res_send do it. */
class Lookup {
  private stale = false;

  constructor(
    private readonly pods: Pods,
    private readonly candidates: Name[],
    private readonly client: string,
    private readonly seen: boolean,
  ) {}

  /** Tries candidate `i`, or ends the lookup when there is none left. */
  next(i: number): void {
    if (i >= this.candidates.length) {
      this.finish(false);
      return;
    }
    this.try(i, 0);
  }

  /** Try `attempt` of candidate `i`: A and AAAA together; the try ends when both are in or at the timeout. */
  private try(i: number, attempt: number): void {
    const pods = this.pods;
    const name = this.candidates[i];
    const { timeoutMs } = pods.w.p.glibc;
    const got = [-1, -1];
    let open = true;
    let timer: Timer | undefined;
    const settle = () => {
      if (!open) return;
      open = false;
      timer?.cancel();
      this.decide(i, attempt, got[0]);
    };
    const reply = (slot: number) => (outcome: number) => {
      if (!open) return;
      if (outcome & STALE) this.stale = true;
      got[slot] = outcome & 7;
      if (got[0] !== -1 && got[1] !== -1) settle();
    };
    pods.cache.ask(name, QTYPE.A, this.client, reply(0));
    if (open) pods.cache.ask(name, QTYPE.AAAA, this.client, reply(1));
    if (open) timer = pods.sim.after(timeoutMs, settle);
  }

  /**
   * What glibc does with one try's replies (-1: none within the timeout). Only the A reply decides; AAAA only makes
   * the try wait. NXDOMAIN or NODATA: the next candidate. SERVFAIL or REFUSED: the next try at once, and after the
   * last one, the next candidate (res_search goes on and remembers). No reply: the next try, and after the last one
   * the lookup has failed (TRY_AGAIN ends the search).
   */
  private decide(i: number, attempt: number, a: number): void {
    if (a === O_ANSWER) this.finish(true);
    else if (a === O_NXDOMAIN || a === O_NODATA) this.next(i + 1);
    else if (attempt + 1 < this.pods.w.p.glibc.attempts) this.try(i, attempt + 1);
    else if (a !== -1) this.next(i + 1);
    else this.finish(false);
  }

  private finish(ok: boolean): void {
    this.pods.stats.lookup(ok, this.stale, this.seen);
  }
}
