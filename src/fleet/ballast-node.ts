// One simulated node's ballast: the product's own parts, built from a validated Config the way src/ballast.ts builds
// them (cache, routing, request handler, stale sweeper, snapshot), with no sockets. Its upstreams are reached through
// an in-memory transport (the product's `transport` seam) onto the CoreDNS model and the node's resolver, on the
// simulation's virtual clock, with a seeded random source per node.

import { buildCache, buildHandler, buildPersister, buildSweeper, createContext, Routing } from '../assemble/index.js';
import type { CacheEntry, DnsCache } from '../cache/index.js';
import type { Config } from '../config/index.js';
import { AbandonedError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import { silentLogger } from '../observe/index.js';
import { Registry } from '../observe/prom.js';
import type { Persister } from '../persist/index.js';
import type { RequestHandler, Started } from '../resolve/index.js';
import { Coalescer } from '../resolve/index.js';
import type { Transport, TransportEvents, UpstreamDeps } from '../upstream/index.js';
import type { Random } from '../util/random.js';
import { lowerName, scanResponse } from '../wire/index.js';
import type { DnsServer } from './coredns.js';
import type { Sim } from './engine.js';
import { decodeReply, encodeAnswer, type Name, type Names } from './names.js';
import type { NodeCache } from './pods.js';

type TransportFactory = NonNullable<UpstreamDeps['transport']>;

/** The addresses in the simulated node's config; with the in-memory transport nothing is sent on a network. */
export const COREDNS_ADDRESS = '10.96.0.10';
export const RESOLVER_ADDRESS = '10.0.0.2';

/**
 * The transport factory for one node: each upstream's attempts go to the server model behind its address, and come
 * back as a real DNS response (ID echoed, question copied), an UpstreamTimeoutError after the attempt's timeout, or an
 * UpstreamNetworkError whose cause is ECONNREFUSED — what ballast's health and retransmission logic would see on a
 * network. A cancelled attempt is abandoned at once, as the socket transport does.
 */
export function memoryTransport({
  coredns,
  resolver,
  names,
  rng,
}: {
  coredns: DnsServer;
  resolver: DnsServer;
  names: Names;
  rng: Random;
}): TransportFactory {
  return (host: string, _port: number, events: TransportEvents): Transport => {
    const server = host === COREDNS_ADDRESS ? coredns : resolver;
    return {
      exchange(req) {
        return new Promise((resolve, reject) => {
          if (req.signal?.cancelled) {
            reject(new AbandonedError(`${host}: abandoned`));
            return;
          }
          req.query.writeUInt16BE(rng.id16(), 0);
          events.sent(req.protocol === 'tcp' ? 'tcp' : 'udp');
          const end = req.questionEnd;
          const name = names.byKey(lowerName(req.query, 12, end - 4)) as Name;
          const qtype = req.query.readUInt16BE(end - 4);
          let off = () => {};
          const timer = server.exchange(rng, name, qtype, req.timeoutMs, (r) => {
            off();
            if (r.error === 'timeout')
              reject(new UpstreamTimeoutError(`no answer from ${host} within ${req.timeoutMs} ms`));
            else if (r.error === 'refused') reject(new UpstreamNetworkError(`${host}: refused`, { cause: REFUSED }));
            else {
              const bytes = encodeAnswer(req.query, end, name, qtype, r.rcode!);
              resolve({ bytes, scan: scanResponse(bytes) });
            }
          });
          off =
            req.signal?.onCancel(() => {
              timer.cancel();
              reject(new AbandonedError(`${host}: abandoned`));
            }) ?? off;
        });
      },
      close() {},
    };
  };
}

const REFUSED = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

const noop = () => {};
const SILENT_CHILD = { inc: noop, dec: noop, set: noop, observe: noop, reset: noop, startTimer: () => noop };

/**
 * A registry that keeps nothing and silences every metric registered with it. ballast writes its metrics but never
 * reads them back to decide anything, so this changes no outcome; it saves the label hashing of thousands of nodes'
 * counters, which is most of what metrics cost in a simulation (docs/fleet.md, "Cost").
 */
class SilentRegistry extends Registry {
  override registerMetric(metric: Parameters<Registry['registerMetric']>[0]): void {
    Object.assign(metric, SILENT_CHILD, { labels: () => SILENT_CHILD });
  }
}

/**
 * The ablation "no coalescing": flights that never join, so every asker starts a fetch of its own. ballast has no
 * such setting; the simulation brings this part through buildHandler's `flights`, where ballast brings a Coalescer.
 */
class EveryAskerFetches extends Coalescer<CacheEntry> {
  override has(): boolean {
    return false;
  }

  override run(_key: string, now: number, start: () => Started<CacheEntry>) {
    return { flight: { ...start(), startedAt: now }, joined: false };
  }
}

/** One ballast instance on one node. */
/** What a node's instances are built with. */
interface InstanceDeps {
  readonly transport: TransportFactory;
  readonly random: Random;
  readonly coalescing: boolean;
}

class Instance {
  readonly cache: DnsCache;
  readonly routing: Routing;
  readonly handler: RequestHandler;
  readonly sweeper: ReturnType<typeof buildSweeper>;
  readonly persister: Persister | undefined;

  constructor(sim: Sim, config: Config, { transport, random, coalescing }: InstanceDeps) {
    const ctx = createContext({
      log: silentLogger(),
      clock: sim.clock,
      random,
      registry: new SilentRegistry(),
      transport,
    });
    this.cache = buildCache(config, ctx);
    this.routing = new Routing(config, ctx, () => undefined);
    this.handler = buildHandler(config, this.cache, this.routing, ctx, {
      flights: coalescing ? undefined : new EveryAskerFetches(),
    });
    this.sweeper = buildSweeper(this.cache, this.handler, () => config, ctx);
    this.persister = buildPersister(config, this.cache, ctx);
    // As Ballast.start(): the snapshot is loaded before the first query. The periodic write is not started: a
    // restart below writes the snapshot itself, at a fixed point of virtual time, so runs stay deterministic.
    this.persister?.load();
    this.sweeper.start();
  }

  close(): void {
    this.sweeper.stop();
    this.routing.close();
  }
}

/** A node's ballast as the pods see it: one address that a rolling update moves from instance to instance. */
export class BallastNode implements NodeCache {
  private instance: Instance;

  constructor(
    private readonly sim: Sim,
    private readonly config: Config,
    private readonly deps: InstanceDeps,
  ) {
    this.instance = new Instance(sim, config, deps);
  }

  /** One query from a pod: `done(outcome | stale flag)` now (a fresh hit) or when the handler answers. */
  ask(name: Name, qtype: number, client: string, done: (outcome: number) => void): void {
    const reply = this.instance.handler.handle(name.queries[qtype], 'udp', client);
    if (reply === null) return;
    if (reply instanceof Promise) void reply.then((b) => b !== null && done(decodeReply(b)));
    else done(decodeReply(reply));
  }

  /**
   * A rolling update with `maxSurge` (docs/design.md §7): the old instance's snapshot is written, the new one loads
   * it before it serves, queries go to the new one from now on, and the old one stops once its drain period is over.
   */
  async restart(): Promise<void> {
    const old = this.instance;
    await old.persister?.write();
    this.instance = new Instance(this.sim, this.config, this.deps);
    const { drainPeriodMs, drainTimeoutMs } = this.config.server;
    this.sim.after(drainPeriodMs + drainTimeoutMs, () => old.close());
  }
}
