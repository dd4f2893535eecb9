export type { BallastDeps, BoundAddresses } from './assemble/index.js';

import {
  type BallastDeps,
  type BoundAddresses,
  buildAdmin,
  buildCache,
  buildHandler,
  buildListeners,
  buildNode,
  buildPersister,
  buildSweeper,
  type Context,
  cacheOptions,
  createContext,
  handlerSettings,
  persistOptions,
  Routing,
} from './assemble/index.js';
import type { DnsCache, Sweeper } from './cache/index.js';
import { Chaos } from './chaos/index.js';
import { type Config, ConfigReport, changedSections } from './config/index.js';
import type { NodeNetwork } from './node/index.js';
import type { AdminServer } from './observe/index.js';
import type { Registry } from './observe/prom.js';
import type { Persister } from './persist/index.js';
import type { RequestHandler } from './resolve/index.js';
import type { ListenerSet } from './server/index.js';
import { type Endpoint, formatEndpoint } from './util/endpoint.js';

/**
 * One running ballast: config → components → listeners. The lifecycle, as undici's dispatchers have it:
 *
 *   new ──start()──▶ running ──close()──▶ closing (not ready; drain) ──▶ closed
 *                          └──destroy()──────────────────────────────▶ closed (at once)
 *
 * `close()` drains: not ready at once; with `drainPeriod` (SIGTERM) it keeps serving for server.drainPeriodMs, then
 * stops accepting, answers what is in flight (≤ server.drainTimeoutMs), writes the snapshot and closes. `destroy()`
 * stops at once, without a drain or a snapshot, and cuts a close() in progress short. Both are idempotent. Node
 * networking is torn down either way, so the node never black-holes DNS behind a dead listener.
 */
export class Ballast {
  readonly registry: Registry;
  readonly cache: DnsCache;
  private config: Config;
  private readonly ctx: Context;
  private readonly handler: RequestHandler;
  private readonly routing: Routing;
  readonly report: ConfigReport;
  private readonly listeners: ListenerSet;
  private admin: AdminServer;
  private adminEndpoint: Endpoint | undefined;
  private readonly sweeper: Sweeper;
  private readonly persister: Persister | undefined;
  private readonly node: NodeNetwork;
  private readonly chaos: Chaos;
  private ready = false;
  private started = false;
  private closing: Promise<void> | undefined;
  private destroying: Promise<void> | undefined;
  private endDrainPeriod: (() => void) | undefined;

  constructor(config: Config, deps: BallastDeps) {
    this.config = config;
    const ctx = createContext(deps);
    this.ctx = ctx;
    this.registry = ctx.registry;
    this.cache = buildCache(config, ctx);
    this.report = new ConfigReport(ctx.registry, deps.log);
    this.chaos = new Chaos({ ...ctx, log: deps.log.child({ component: 'chaos' }) }, config.chaos);
    this.routing = new Routing(config, ctx, (c) => this.chaos.interceptor(c.chaos));
    this.handler = buildHandler(config, this.cache, this.routing, ctx);
    this.sweeper = buildSweeper(this.cache, this.handler, () => this.config, ctx);
    this.persister = buildPersister(config, this.cache, ctx);
    this.listeners = buildListeners(config, this.handler, ctx);
    this.admin = this.createAdmin(config);
    this.node = buildNode(config, ctx);
  }

  private createAdmin(config: Config): AdminServer {
    const ready = () => this.ready && this.listeners.complete;
    return buildAdmin(config, this.ctx, ready, this.chaos, this.cache, () => this.handler.loops.problems);
  }

  /** Loads the snapshot, prepares the node, binds every listener and the admin port, then logs one line. */
  async start(): Promise<BoundAddresses> {
    // docs/design.md §7: the snapshot is loaded before any listener opens, so the first query already sees it.
    this.persister?.load();
    this.started = true;
    // The interface and the local IPs first, so the listeners can bind them. Never throws: failures are counted.
    await this.node.prepare();
    await this.listeners.open(this.config.listen);
    this.adminEndpoint = await this.admin.start();
    // The rules only now that the sockets are bound (NodeLocal DNSCache waits the same way): NOTRACK towards an
    // address nobody serves would black-hole DNS.
    this.node.onSync(() => this.listeners.bindMissing());
    await this.node.setup();
    this.node.start();
    this.sweeper.start();
    this.persister?.start();
    // Now that the listeners are up, a loop check's query can come back to them.
    this.handler.loops.check(this.routing.zones, this.config.upstream.udpPayloadSize);
    this.ready = true;
    const [listen, admin] = [this.listeners.endpoints.map(formatEndpoint), formatEndpoint(this.adminEndpoint)];
    const { enabled, path } = this.config.persistence;
    const snapshot = enabled ? path : 'off';
    this.report.started({ listen, admin, zones: this.routing.describe(), cache: this.config.cache, snapshot });
    return this.addresses!;
  }

  /**
   * Applies a new, already validated config without dropping the cache (docs/design.md §7). What can fail comes
   * first (the zone table reads resolv.conf; a listen or admin address may be in use): then the error is thrown,
   * counted, and everything stays as it was.
   */
  async reload(next: Config): Promise<string[]> {
    const changed = changedSections(this.config, next);
    try {
      const installRouting = this.routing.prepare(next);
      const admin = next.admin.listen !== this.config.admin.listen || changed.includes('chaos');
      const nextAdmin = admin ? this.createAdmin(next) : undefined;
      const adminEndpoint = await nextAdmin?.start();
      await this.listeners.reconcile(next.listen, next.server, next.server.drainTimeoutMs).catch(async (err) => {
        await nextAdmin?.close();
        throw err;
      });
      installRouting();
      const previous = { config: this.config, settings: this.handler.settings };
      this.handler.configure(handlerSettings(next, this.ctx.random, previous));
      this.cache.reconfigure(cacheOptions(next));
      this.persister?.configure(persistOptions(next));
      this.ctx.log.level = next.log.level;
      if (nextAdmin !== undefined) {
        await this.admin.close();
        [this.admin, this.adminEndpoint] = [nextAdmin, adminEndpoint];
      }
      this.config = next;
      this.handler.loops.check(this.routing.zones, next.upstream.udpPayloadSize);
      this.report.applied(changed, this.routing.describe());
      return changed;
    } catch (err) {
      this.report.failed(err, changed);
      throw err;
    }
  }

  get addresses(): BoundAddresses | undefined {
    const endpoints = this.listeners.endpoints;
    return this.adminEndpoint && { udp: endpoints, tcp: endpoints, admin: this.adminEndpoint };
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** Graceful stop (see the class comment); idempotent. */
  close(opts: { drainPeriod?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      this.stopServing();
      const { drainPeriodMs, drainTimeoutMs } = this.config.server;
      if (opts.drainPeriod && drainPeriodMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = this.ctx.clock.setTimer(resolve, drainPeriodMs);
          this.endDrainPeriod = () => {
            timer.cancel();
            resolve();
          };
        });
      }
      if (this.destroying === undefined) await this.shutdown(drainTimeoutMs, true);
    })();
    return this.destroying ?? this.closing;
  }

  /** Immediate stop (see the class comment); idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.stopServing();
      this.endDrainPeriod?.();
      await this.shutdown(0, false);
      await this.closing;
    })();
    return this.destroying;
  }

  private stopServing(): void {
    this.ready = false;
    this.sweeper.stop();
    this.persister?.stop();
  }

  private async shutdown(drainMs: number, snapshot: boolean): Promise<void> {
    await this.listeners.close(drainMs);
    // Teardown is skipped while another instance serves (a rollout), and never touches another's rules.
    await Promise.all([this.node.teardown(), snapshot && this.started ? this.persister?.write() : undefined]);
    this.routing.close();
    this.handler.loops.close();
    this.chaos.clear();
    await this.admin.close();
  }
}
