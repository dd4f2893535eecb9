import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Endpoint } from '../util/endpoint.js';
import { FrameDecoder, frame } from '../wire/index.js';
import type { HandleQuery } from './listen.js';
import type { ServerMetrics } from './metrics.js';

export interface TcpOptions {
  /**
   * Close a connection with nothing in flight after this long (RFC 7766 §6.2.3); also the longest a client may take
   * to send one whole message once it has started it.
   */
  readonly idleTimeoutMs: number;
  /**
   * Client connections open at once. At the cap, a new connection closes the one idle longest (nothing in flight) to
   * make room; only when every connection has queries in flight is the new one closed at accept.
   */
  readonly maxConnections: number;
  /** Queries in flight on one connection; beyond it ballast stops reading that connection until answers go out. */
  readonly maxInflightPerConnection: number;
}

/** Unsent reply bytes on one connection past which ballast stops reading from it (a client that does not read). */
const WRITE_BACKLOG_BYTES = 256 * 1024;

/**
 * A TCP listener (RFC 7766): length-framed queries, pipelined, answered as each completes — out of order when a
 * later query is a cache hit and an earlier one waits on an upstream (§6.2.1.1).
 */
export class TcpListener {
  private server: Server | undefined;
  private readonly connections = new Set<Conn>();
  /** Counts complete queries across connections: a connection's last one says how recently it was used. */
  private activity = 0;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly handle: HandleQuery,
    private readonly opts: TcpOptions,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    /** server.allowClients (allow.ts): false closes the connection at accept, before it takes a slot. */
    private readonly allows: (address: string | undefined) => boolean = () => true,
  ) {}

  async start(): Promise<Endpoint> {
    const server = createServer({ noDelay: true, pauseOnConnect: false });
    this.server = server;
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (err) => this.log.error({ err }, 'tcp server error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.endpoint.host, port: this.endpoint.port, reusePort: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('tcp listener has no address');
    return { host: a.address, port: a.port };
  }

  private accept(socket: Socket): void {
    if (!this.allows(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.opts.maxConnections && !this.evictIdlest()) {
      this.metrics.tcpRejected.inc();
      socket.destroy();
      return;
    }
    const tick = () => ++this.activity;
    const conn = new Conn(socket, this.handle, this.opts, this.metrics, this.log, tick, () => {
      this.connections.delete(conn);
      this.metrics.tcpConnections.dec();
    });
    this.connections.add(conn);
    this.metrics.tcpConnections.inc();
  }

  /**
   * At the cap, makes room: a connection already closing (an idle one waiting for its client's FIN) gives up its slot
   * at once; otherwise the one whose last complete query (or accept) is oldest among those with nothing in flight is
   * closed — idle keep-alives and clients that never finish a message go first — so that holding connections open
   * cannot lock new clients out (RFC 7766 §6.2.3 lets a server close idle connections under pressure). Returns false
   * when every connection has queries in flight.
   */
  private evictIdlest(): boolean {
    let idlest: Conn | undefined;
    for (const c of this.connections) {
      if (c.ending) {
        this.connections.delete(c);
        return true;
      }
      if (c.evictable && (idlest === undefined || c.lastActivity < idlest.lastActivity)) idlest = c;
    }
    if (idlest === undefined) return false;
    // Out of the set now, so the cap holds while its socket closes.
    this.connections.delete(idlest);
    idlest.evict();
    return true;
  }

  /** Stops accepting, lets each connection finish what is in flight (at most `drainMs`), then closes them. */
  async close(drainMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.drain(drainMs)));
    await closed;
  }
}

class Conn {
  private readonly decoder = new FrameDecoder();
  private inflight = 0;
  private paused = false;
  private closing = false;
  /** end() was called: the socket is closing. */
  ending = false;
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly client: string;
  /** The listener's activity count at this connection's last complete query, or at its accept. */
  lastActivity: number;
  /** Runs while part of a message is buffered: the client must finish it in time (slowloris). */
  private partial: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly handle: HandleQuery,
    private readonly opts: TcpOptions,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly tick: () => number,
    onClose: () => void,
  ) {
    this.client = socket.remoteAddress ?? 'unknown';
    this.lastActivity = tick();
    // Reset by every byte either way: a client that dribbles bytes is caught by the partial-message timer instead.
    socket.setTimeout(opts.idleTimeoutMs, () => {
      if (this.inflight === 0) this.end('idle');
    });
    socket.on('data', (chunk) => {
      let complete = false;
      const ok = this.decoder.push(chunk, (msg) => {
        complete = true;
        this.lastActivity = this.tick();
        this.onQuery(msg);
      });
      if (!ok) this.end('framing');
      else this.watchPartial(complete);
    });
    socket.on('drain', () => this.updateFlow());
    socket.on('error', () => this.end('error'));
    socket.on('close', () => {
      clearTimeout(this.partial);
      if (this.closed) return;
      this.closed = true;
      this.drained?.();
      onClose();
    });
  }

  /**
   * A message begun must be finished within idleTimeoutMs of its first byte, however slowly the bytes come: a
   * client sending a byte a second (slowloris) would otherwise hold the connection forever, since each byte resets
   * the idle timer. The clock restarts whenever a message completes; it does not run against the client while ballast
   * has stopped reading (back-pressure), since the rest of the message may be waiting in the kernel.
   */
  private watchPartial(completed: boolean): void {
    if (this.decoder.buffered === 0 || completed) {
      clearTimeout(this.partial);
      this.partial = undefined;
    }
    if (this.decoder.buffered === 0 || this.partial !== undefined) return;
    const check = () => {
      if (this.decoder.buffered === 0) this.partial = undefined;
      else if (this.paused) this.partial = setTimeout(check, this.opts.idleTimeoutMs);
      else this.end('slow');
    };
    this.partial = setTimeout(check, this.opts.idleTimeoutMs);
  }

  /** Nothing in flight and not closing already: closing it costs no client an answer. */
  get evictable(): boolean {
    return this.inflight === 0 && !this.ending;
  }

  /** Closed at once to make room for a new connection at the cap. */
  evict(): void {
    this.end('evicted');
  }

  private onQuery(msg: Buffer): void {
    if (this.closing) return;
    let out: ReturnType<HandleQuery>;
    try {
      out = this.handle(msg, 'tcp', this.client);
    } catch (err) {
      this.log.error({ err }, 'query handler threw');
      return;
    }
    if (out === null) return;
    if (!(out instanceof Promise)) {
      this.write(out);
      return;
    }
    this.inflight++;
    this.updateFlow();
    out.then(
      (reply) => this.settle(reply),
      (err) => {
        this.log.error({ err }, 'query handler failed');
        this.settle(null);
      },
    );
  }

  private settle(reply: Buffer | null): void {
    this.inflight--;
    if (reply !== null) this.write(reply);
    this.updateFlow();
    if (this.inflight === 0 && this.closing) this.end('shutdown');
  }

  private write(reply: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(frame(reply));
    this.updateFlow();
  }

  /** Back-pressure: stop reading while too much is in flight or the client is not reading its answers. */
  private updateFlow(): void {
    const busy =
      this.inflight >= this.opts.maxInflightPerConnection || this.socket.writableLength > WRITE_BACKLOG_BYTES;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!busy && this.paused && !this.closing) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.ending = true;
    clearTimeout(this.partial);
    this.metrics.tcpClosed.labels(reason).inc();
    if (reason === 'shutdown' || reason === 'idle') this.socket.end();
    else this.socket.destroy();
    // end() waits for the peer; make sure a silent peer cannot hold the connection open.
    this.socket.setTimeout(1000, () => this.socket.destroy());
  }

  drain(drainMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing = true;
    this.socket.pause();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, drainMs);
      this.drained = () => {
        clearTimeout(t);
        resolve();
      };
      if (this.inflight === 0) this.end('shutdown');
    });
  }
}
