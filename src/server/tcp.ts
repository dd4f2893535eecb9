import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, frame } from '../wire/index.js';
import type { Endpoint, HandleQuery } from './listen.js';
import type { ServerMetrics } from './metrics.js';

export interface TcpOptions {
  /** Close a connection with nothing in flight after this long (RFC 7766 §6.2.3). */
  readonly idleTimeoutMs: number;
  /** Client connections open at once; beyond it new ones are closed at accept. */
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

  constructor(
    private readonly endpoint: Endpoint,
    private readonly handle: HandleQuery,
    private readonly opts: TcpOptions,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
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
    if (this.connections.size >= this.opts.maxConnections) {
      this.metrics.tcpRejected.inc();
      socket.destroy();
      return;
    }
    const conn = new Conn(socket, this.handle, this.opts, this.metrics, this.log, () => {
      this.connections.delete(conn);
      this.metrics.tcpConnections.dec();
    });
    this.connections.add(conn);
    this.metrics.tcpConnections.inc();
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
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly client: string;

  constructor(
    private readonly socket: Socket,
    private readonly handle: HandleQuery,
    private readonly opts: TcpOptions,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    onClose: () => void,
  ) {
    this.client = socket.remoteAddress ?? 'unknown';
    socket.setTimeout(opts.idleTimeoutMs, () => {
      if (this.inflight === 0) this.end('idle');
    });
    socket.on('data', (chunk) => {
      if (!this.decoder.push(chunk, (msg) => this.onQuery(msg))) this.end('framing');
    });
    socket.on('drain', () => this.updateFlow());
    socket.on('error', () => this.end('error'));
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.drained?.();
      onClose();
    });
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
