import { type Config, parseEndpoint, rootServers } from '../config/index.js';
import {
  createSelector,
  createUpstreamMetrics,
  type ForwardDeps,
  RetryBudget,
  Route,
  type RouteOptions,
  type TransportInterceptor,
  Upstream,
  type UpstreamDeps,
  type UpstreamMetrics,
  type Zone,
  ZoneTable,
} from '../upstream/index.js';
import { encodeName, ownQuery, RrType } from '../wire/index.js';
import type { Context } from './context.js';

/**
 * The zone table and the upstream objects behind it, and what forwarding needs (the node's retry budget). A reload
 * rebuilds the table and reuses each upstream whose address and settings did not change, so it keeps its per-zone
 * health, RTT estimates and open connections; upstreams no zone uses any more are closed.
 */
export class Routing {
  zones!: ZoneTable;
  forward!: ForwardDeps;
  private upstreams = new Map<string, Upstream>();
  /** One route per (upstream, zone), kept across reloads with its upstream, so health survives a reload. */
  private routes = new Map<string, Route>();
  private readonly metrics: UpstreamMetrics;
  private budgetOptions: object | undefined;

  constructor(
    config: Config,
    private readonly ctx: Context,
    private readonly intercept: (config: Config) => TransportInterceptor | undefined,
  ) {
    this.metrics = createUpstreamMetrics(ctx.registry);
    this.prepare(config)();
  }

  /**
   * Builds the next table without touching the running one, and returns what installs it: a reload prepares
   * everything that can fail (an unreadable resolv.conf) before it changes anything.
   */
  prepare(config: Config): () => void {
    const { ctx } = this;
    const u = config.upstream;
    const intercept = this.intercept(config);
    const deps: UpstreamDeps = {
      clock: ctx.clock,
      random: ctx.random,
      metrics: this.metrics,
      log: ctx.log.child({ component: 'upstream' }),
      tcp: u.tcp,
      maxInflight: u.maxInflight,
      fairness: config.fairness,
      intercept,
      transport: ctx.transport,
    };
    // Health and RTO settings live in the routes; an upstream is kept while its address and these are unchanged.
    const settings = JSON.stringify([u.tcp, u.maxInflight, u.health, u.retransmit, u.udpPayloadSize, !!intercept]);
    const previous = this.upstreams;
    const previousRoutes = this.routes;
    const upstreams = new Map<string, Upstream>();
    const routes = new Map<string, Route>();
    const routeTo = (ep: { host: string; port: number }, options: RouteOptions) => {
      const k = `${ep.host}|${ep.port}|${settings}`;
      const upstream = upstreams.get(k) ?? previous.get(k) ?? new Upstream(ep.host, ep.port, deps);
      upstreams.set(k, upstream);
      const rk = `${k}|${options.zone}`;
      const route =
        routes.get(rk) ??
        previousRoutes.get(rk) ??
        new Route(upstream, options, { metrics: this.metrics, log: deps.log });
      routes.set(rk, route);
      return route;
    };
    const zone = (name: string, servers: { host: string; port: number }[], z: Partial<Config['zones'][number]>) => {
      const protocol = z.protocol ?? u.protocol;
      const options: RouteOptions = {
        zone: name,
        protocol,
        health: u.health,
        rto: u.retransmit,
        soaProbe: ownQuery(encodeName(name), RrType.SOA, u.udpPayloadSize),
      };
      return {
        name,
        labels: name === '.' ? 0 : name.split('.').length,
        routes: servers.map((ep) => routeTo(ep, options)),
        protocol,
        deadlineMs: z.deadlineMs ?? u.deadlineMs,
        lastKnownGood: z.lastKnownGood ?? config.lastKnownGood.policy,
        selector: createSelector(z.policy ?? u.policy, ctx.random),
      } satisfies Zone;
    };
    const list: Zone[] = [
      zone('.', rootServers(config), {}),
      ...config.zones.map((z) =>
        zone(
          z.name,
          z.servers.map((s) => parseEndpoint(s, 53)!),
          z,
        ),
      ),
    ];
    const zones = new ZoneTable(list);
    const r = u.retransmit;
    const budgetOptions = { perAnswer: r.budgetPerAnswer, minPerSecond: r.budgetMinPerSecond, burst: r.budgetBurst };
    const sameBudget =
      this.forward !== undefined && JSON.stringify(this.budgetOptions) === JSON.stringify(budgetOptions);
    const budget = sameBudget ? this.forward.budget : new RetryBudget(budgetOptions, ctx.clock);
    return () => {
      for (const upstream of upstreams.values()) upstream.configure(config.fairness);
      this.zones = zones;
      this.upstreams = upstreams;
      this.routes = routes;
      for (const [k, old] of previousRoutes) if (!routes.has(k)) old.close();
      this.budgetOptions = budgetOptions;
      this.forward = { clock: ctx.clock, budget, metrics: this.metrics };
      for (const [k, old] of previous) if (!upstreams.has(k)) old.close();
    };
  }

  /** Zones and their upstreams, for the start-up and reload log lines. */
  describe() {
    return this.zones.zones.map((z) => ({
      zone: z.name,
      upstreams: z.routes.map((r) => r.upstream.label),
      protocol: z.protocol,
    }));
  }

  close(): void {
    for (const r of this.routes.values()) r.close();
    for (const u of this.upstreams.values()) u.close();
  }
}
