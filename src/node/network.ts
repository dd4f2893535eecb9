import type { Logger } from 'pino';
import { type Clock, systemClock, type Timer } from '../util/clock.js';
import { randomHex } from '../util/random.js';
import type { NodeConfig } from './config.js';
import { createExec, type Exec } from './exec.js';
import { InstanceDir } from './instances.js';
import { InterfaceKeeper } from './keep-interface.js';
import { RuleKeeper } from './keep-rules.js';
import { Link } from './link.js';
import type { NodeMetrics } from './metrics.js';
import { Pass } from './pass.js';
import { nodeRules, type Rule } from './rules.js';

/** The xtables lock wait passed as `-w`: long enough for kube-proxy's restore, short enough to retry later. */
export const DEFAULT_XTABLES_WAIT_SECONDS = 5;
/** Longest wait for another instance's setup or teardown to finish before going ahead anyway. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export type NodeNetworkOptions = Pick<
  NodeConfig,
  | 'localIps'
  | 'setupInterface'
  | 'setupIptables'
  | 'interfaceName'
  | 'interfaceKind'
  | 'iptablesMode'
  | 'resyncSeconds'
  | 'skipTeardown'
  | 'instanceDir'
> & {
  /** TCP port of the admin server (admin.listen); its NOTRACK rules are added when set and not 0. */
  readonly adminPort?: number;
  readonly xtablesWaitSeconds?: number;
  readonly lockTimeoutMs?: number;
  /** Names this instance's file in instanceDir; random by default. */
  readonly instanceId?: string;
};

export interface NodeNetworkDeps {
  /** A child logger, e.g. `log.child({ component: 'node' })`. */
  readonly log: Logger;
  /** createNodeMetrics(registry), made by the caller so they exist whether or not node setup runs. */
  readonly metrics: NodeMetrics;
  /** Runs `ip` and `iptables`; tests prefix `ip netns exec NS`. */
  readonly exec?: Exec;
  readonly clock?: Clock;
}

/** What one setup or resync pass changed. */
export interface SyncReport {
  /** Things that were missing and were added, described for people. */
  readonly added: string[];
  /** Steps that failed (each logged and counted). */
  readonly failed: number;
}

export interface TeardownReport {
  /** Why nothing was removed, when nothing was. */
  readonly skipped?: string;
  readonly removed: string[];
}

/**
 * Keeps NodeLocal DNSCache's node contract (docs/design.md §3): the interface with the local IPs, and the NOTRACK/ACCEPT
 * rules, re-checked every resyncSeconds. Nothing here throws: a failed step is logged, counted in
 * ballast_node_setup_errors_total{kind} and tried again at the next resync, so node trouble never turns into a
 * crash loop. Operations run one at a time, under a node-wide lock shared with the other instances.
 *
 * Lifecycle: prepare() (interface and addresses, before the listeners bind) → setup() (adds the rules, once the
 * listeners are bound: NOTRACK towards a socket nobody holds would black-hole DNS) → start() (periodic resync)
 * → teardown() at a clean exit (stops the resync; removes what ballast owns unless another instance is serving).
 */
export class NodeNetwork {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: NodeMetrics;
  private readonly iface: InterfaceKeeper;
  private readonly ruleKeeper: RuleKeeper;
  private readonly instances: InstanceDir;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: Timer | undefined;
  /** Bumped by stop(), so a resync that was running when stop() came does not schedule the next one. */
  private generation = 0;
  private stopped = false;
  private readonly syncListeners: (() => void | Promise<void>)[] = [];

  constructor(
    private readonly opts: NodeNetworkOptions,
    deps: NodeNetworkDeps,
  ) {
    const exec = deps.exec ?? createExec();
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.iface = new InterfaceKeeper(new Link(exec, opts.interfaceName), opts);
    this.ruleKeeper = new RuleKeeper(
      opts.setupIptables ? nodeRules(opts.localIps, opts.adminPort) : [],
      exec,
      opts.iptablesMode,
      opts.xtablesWaitSeconds ?? DEFAULT_XTABLES_WAIT_SECONDS,
      deps.log,
    );
    this.instances = new InstanceDir(opts.instanceDir, {
      id: opts.instanceId ?? randomHex(8),
      pid: process.pid,
      ...(process.env.POD_NAME ? { pod: process.env.POD_NAME } : {}),
    });
  }

  /** Whether this instance changes anything on the node at all. */
  get enabled(): boolean {
    return this.opts.setupInterface || this.opts.setupIptables;
  }

  /** The rules this instance keeps in place. */
  get managedRules(): readonly Rule[] {
    return this.ruleKeeper.rules;
  }

  /** Registers this instance and puts the interface and addresses in place, so the listeners can bind. */
  prepare(): Promise<SyncReport> {
    return this.serialize(() => this.sync(false));
  }

  /** Everything: registration, interface, addresses and rules. Call once the listeners are bound. */
  setup(): Promise<SyncReport> {
    return this.serialize(() => this.sync(true));
  }

  /** Re-checks everything and re-adds what is missing; `-C` before `-I`, so never a duplicate (kubernetes/dns#568). */
  resync(): Promise<SyncReport> {
    return this.serialize(() => (this.stopped ? Promise.resolve({ added: [], failed: 0 }) : this.sync(true)));
  }

  /** Resyncs every resyncSeconds until stop() or teardown(). */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    this.stopped = false;
    const generation = this.generation;
    const schedule = () => {
      this.timer = this.clock.setTimer(() => {
        void this.resync().finally(() => {
          if (this.generation === generation) schedule();
        });
      }, this.opts.resyncSeconds * 1000);
    };
    schedule();
  }

  /**
   * Runs `fn` after every setup and resync pass, e.g. to bind a listener whose address was missing at start-up
   * and has just been put back. Errors it throws are logged, never passed on.
   */
  onSync(fn: () => void | Promise<void>): void {
    this.syncListeners.push(fn);
  }

  stop(): void {
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * At a clean exit: stop resyncing, unregister, then remove the rules and the addresses/interface ballast owns —
   * unless node.skipTeardown is set, or another ballast instance on the node is still alive (a rollout: the new pod
   * shares the addresses through SO_REUSEPORT and needs the rules). Rules go first, so the kube-dns ClusterIP falls
   * back to kube-proxy's DNAT before its address disappears. Safe to call again; never throws.
   */
  teardown(): Promise<TeardownReport> {
    this.stop();
    this.stopped = true;
    if (!this.enabled) return Promise.resolve({ skipped: 'node setup is off', removed: [] });
    return this.serialize(async () => {
      const pass = new Pass(this.metrics);
      const skipped = await this.withLock(pass, async () => {
        await this.instances.unregister().catch((err) => pass.fail('lock', err));
        if (this.opts.skipTeardown) return 'node.skipTeardown is set';
        const others = await this.instances.others().catch((err) => {
          pass.fail('lock', new Error(`cannot list ${this.opts.instanceDir}: ${(err as Error).message}`));
          return [];
        });
        if (others.length > 0) {
          const who = others.map((o) => `${o.id} (pid ${o.pid}${o.pod ? `, pod ${o.pod}` : ''})`).join(', ');
          return `another ballast instance is serving: ${who}`;
        }
        await this.ruleKeeper.remove(pass);
        await this.iface.remove(pass);
        return undefined;
      });
      this.report('teardown', pass);
      if (skipped !== undefined) this.log.info({ reason: skipped }, 'node teardown skipped');
      else if (pass.removed.length > 0) this.log.info({ removed: pass.removed }, 'node networking removed');
      return skipped !== undefined ? { skipped, removed: [] } : { removed: pass.removed };
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Runs `fn` under the node lock. If the lock cannot be had in time, goes ahead anyway, and says so. */
  private async withLock<T>(pass: Pass, fn: () => Promise<T>): Promise<T> {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.instances.lock(this.opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    } catch (err) {
      pass.fail('lock', new Error(`node lock: ${(err as Error).message}; going ahead without it`));
    }
    try {
      return await fn();
    } finally {
      await release?.().catch(() => {});
    }
  }

  private async sync(withRules: boolean): Promise<SyncReport> {
    if (!this.enabled) return { added: [], failed: 0 };
    const pass = new Pass(this.metrics);
    await this.withLock(pass, async () => {
      await this.instances.register().catch((err) => {
        const why = `cannot register in ${this.opts.instanceDir} (rollout handover check unavailable)`;
        pass.fail('lock', new Error(`${why}: ${(err as Error).message}`));
      });
      const local = await this.iface.ensure(pass);
      if (withRules) await this.ruleKeeper.ensure(local, pass);
    });
    this.report('setup', pass);
    for (const fn of this.syncListeners) {
      try {
        await fn();
      } catch (err) {
        this.log.error({ err }, 'node sync listener failed');
      }
    }
    return { added: pass.added, failed: pass.failures.length };
  }

  private report(phase: 'setup' | 'teardown', pass: Pass): void {
    for (const f of pass.failures) this.metrics.errors.labels(f.kind).inc();
    if (pass.repaired.length > 0) {
      this.log.warn({ repaired: pass.repaired }, 'node networking was missing pieces and they were added back');
    } else if (pass.added.length > 0) {
      this.log.info({ added: pass.added }, 'node networking set up');
    }
    if (pass.failures.length > 0) {
      const next = phase === 'setup' ? '; retrying at the next resync' : '';
      this.log.error(
        { phase, failures: pass.failures },
        `node networking: ${pass.failures.length} step(s) failed${next}`,
      );
    }
  }
}
