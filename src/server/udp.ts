import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { Endpoint } from '../util/endpoint.js';
import type { HandleQuery } from './listen.js';
import type { ServerMetrics } from './metrics.js';

/**
 * A UDP listener. SO_REUSEPORT lets a second ballast bind the same address during a rollout (docs/design.md §7).
 * Replies to cache hits go out in the same tick as the datagram that asked; only misses wait on a promise.
 */
export class UdpListener {
  private socket: Socket | undefined;
  private inflight = 0;
  private closing = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly handle: HandleQuery,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly receiveBufferBytes: number,
    /** server.allowClients (allow.ts): false drops the datagram unread. */
    private readonly allows: (address: string) => boolean = () => true,
  ) {}

  async start(): Promise<Endpoint> {
    const socket = createSocket({
      type: isIPv6(this.endpoint.host) ? 'udp6' : 'udp4',
      reusePort: true,
      lookup: literalAddress,
      // Room for a burst (1,000 clients at once is ~1 MB of kernel buffers); the kernel caps it at rmem_max.
      recvBufferSize: this.receiveBufferBytes,
    });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.endpoint.port, this.endpoint.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Replies on the hit path are sent without a callback, so their failures arrive here. Counted, not logged at
      // error level: a full socket buffer under a flood would otherwise log once per dropped reply.
      if (err.syscall === 'send') {
        this.metrics.sendErrors.labels('udp').inc();
        this.log.debug({ err }, 'udp send failed');
        return;
      }
      this.log.error({ err }, 'udp socket error');
    });
    const a = socket.address();
    return { host: a.address, port: a.port };
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing || !this.allows(rinfo.address)) return;
    let out: ReturnType<HandleQuery>;
    try {
      out = this.handle(msg, 'udp', rinfo.address);
    } catch (err) {
      // A bug must cost one query, never the process (docs/design.md §6).
      this.log.error({ err }, 'query handler threw');
      return;
    }
    if (out === null) return;
    if (!(out instanceof Promise)) {
      // No completion callback on the hit path: Node.js would allocate and schedule one per reply. A failed send
      // comes back as the socket's 'error' event, counted there.
      this.socket?.send(out, rinfo.port, rinfo.address);
      return;
    }
    this.inflight++;
    out.then(
      (reply) => {
        if (reply === null) this.settle();
        else this.send(reply, rinfo, () => this.settle());
      },
      (err) => {
        this.log.error({ err }, 'query handler failed');
        this.settle();
      },
    );
  }

  private send(reply: Buffer, rinfo: RemoteInfo, sent: () => void): void {
    const socket = this.socket;
    if (socket === undefined) {
      sent();
      return;
    }
    socket.send(reply, rinfo.port, rinfo.address, (err) => {
      if (err) this.metrics.sendErrors.labels('udp').inc();
      sent();
    });
  }

  /** A query that waited on an upstream is done (its reply handed to the kernel); the last one ends a drain. */
  private settle(): void {
    this.inflight--;
    if (this.inflight === 0 && this.drained) this.drained();
  }

  /**
   * Drains, then closes. UDP has no "stop accepting" short of closing the socket: while a second instance shares the
   * port (SO_REUSEPORT, docs/design.md §7) the kernel keeps sending this socket its share of datagrams, so it keeps
   * answering until nothing is in flight (or `drainMs` passes), and only then closes.
   */
  async close(drainMs: number): Promise<void> {
    if (this.socket === undefined) return;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, drainMs);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.closing = true;
    const socket = this.socket;
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/**
 * The "lookup" of a reply's destination, which is always the IP literal a query came from. Node's default runs
 * dns.lookup for it, which checks the text is an IP and then defers the send by a tick, for every reply; this hands
 * the address straight back, so the reply is sent at once (docs/performance.md §3).
 */
function literalAddress(
  address: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}
