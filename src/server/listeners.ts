import type { Logger } from 'pino';
import type { Endpoint } from '../util/endpoint.js';
import { ClientFilter } from './allow.js';
import type { HandleQuery } from './listen.js';
import type { ServerMetrics } from './metrics.js';
import { bindPair } from './pair.js';
import { TcpListener, type TcpOptions } from './tcp.js';
import { UdpListener } from './udp.js';

/**
 * What new listeners are built with; a reload may change it. The socket settings apply to addresses bound from then
 * on; the allowed client networks to every listener at once.
 */
export interface ListenerSettings {
  readonly udpReceiveBufferBytes: number;
  readonly tcp: TcpOptions;
  /** Client networks served (CIDRs); empty or absent: everyone. */
  readonly allowClients?: readonly string[];
}

export interface ListenerSetDeps {
  readonly handle: HandleQuery;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  readonly parse: (address: string) => Endpoint;
  /**
   * Whether a failed bind should be retried later instead of failing start-up: a node-local IP that is not on the
   * interface yet. Such an address is kept as missing, and the set is not complete until it is bound.
   */
  readonly retryLater: (address: string, err: unknown) => boolean;
  /** Counts a datagram or connection dropped because its client is outside `allowClients`. */
  readonly denied: () => void;
}

/** One listen address: its UDP and TCP listeners on one port. */
interface Listener {
  readonly address: string;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
  readonly bound: Endpoint;
}

/** Every address ballast serves DNS on, each as a UDP and a TCP listener; rebinds what a reload or a node resync adds. */
export class ListenerSet {
  private readonly listeners: Listener[] = [];
  private readonly missing = new Set<string>();
  private closed = false;
  private clients: ClientFilter;
  /** What every listener asks about a client: the filter of the settings in force now. */
  private readonly allows = (address: string | undefined) => this.clients.allows(address);

  constructor(
    private settings: ListenerSettings,
    private readonly deps: ListenerSetDeps,
  ) {
    this.clients = new ClientFilter(settings.allowClients ?? [], deps.denied);
  }

  /** Binds every address; one that may be retried later is kept as missing, any other failure throws. */
  async open(addresses: readonly string[]): Promise<void> {
    for (const address of addresses) {
      try {
        this.listeners.push(await this.bind(address));
      } catch (err) {
        if (!this.deps.retryLater(address, err)) throw err;
        this.missing.add(address);
        this.deps.log.error({ err, address }, 'listen address missing; retrying after each node resync');
      }
    }
  }

  /** Tries the missing addresses again (after a node resync put their IPs back). */
  async bindMissing(): Promise<void> {
    for (const address of this.missing) {
      if (this.closed) return;
      try {
        this.listeners.push(await this.bind(address));
      } catch {
        continue; // still missing; the node error is counted already
      }
      this.missing.delete(address);
      this.deps.log.info({ address }, 'listen address bound');
    }
  }

  /**
   * Makes the set serve exactly `addresses` (a reload): new ones are bound first, and if one fails nothing changes
   * and the error is thrown; then the ones no longer wanted drain for `drainMs` in the background and close.
   */
  async reconcile(addresses: readonly string[], settings: ListenerSettings, drainMs: number): Promise<void> {
    const added: Listener[] = [];
    try {
      for (const address of addresses) {
        if (!this.listeners.some((l) => l.address === address)) added.push(await this.bind(address, settings));
      }
    } catch (err) {
      await Promise.all(added.map((l) => closeListener(l, 0)));
      throw err;
    }
    this.settings = settings;
    this.clients = new ClientFilter(settings.allowClients ?? [], this.deps.denied);
    const removed = this.listeners.filter((l) => !addresses.includes(l.address));
    const kept = this.listeners.filter((l) => addresses.includes(l.address));
    this.listeners.splice(0, this.listeners.length, ...kept, ...added);
    for (const address of this.missing) if (!addresses.includes(address)) this.missing.delete(address);
    void Promise.all(removed.map((l) => closeListener(l, drainMs)));
  }

  private async bind(address: string, settings = this.settings): Promise<Listener> {
    const want = this.deps.parse(address);
    const { handle, metrics, log } = this.deps;
    const { udp, tcp, port } = await bindPair(
      want.port,
      async (port) => {
        const udp = new UdpListener(
          { ...want, port },
          handle,
          metrics,
          log,
          settings.udpReceiveBufferBytes,
          this.allows,
        );
        const bound = await udp.start();
        return { udp, port: bound.port, close: () => udp.close(0) };
      },
      async (port) => {
        const tcp = new TcpListener({ ...want, port }, handle, settings.tcp, metrics, log, this.allows);
        await tcp.start();
        return tcp;
      },
    );
    return { address, udp: udp.udp, tcp, bound: { host: want.host, port } };
  }

  /** Whether every address is bound. */
  get complete(): boolean {
    return this.missing.size === 0;
  }

  get endpoints(): Endpoint[] {
    return this.listeners.map((l) => l.bound);
  }

  /** Stops accepting and lets what is in flight finish, for at most `drainMs` (0: at once). Idempotent. */
  async close(drainMs: number): Promise<void> {
    this.closed = true;
    const all = this.listeners.splice(0);
    await Promise.all(all.map((l) => closeListener(l, drainMs)));
  }
}

function closeListener(l: Listener, drainMs: number): Promise<unknown> {
  return Promise.all([l.udp.close(drainMs), l.tcp.close(drainMs)]);
}
