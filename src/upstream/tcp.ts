import { connect, type Socket } from 'node:net';
import { AbandonedError, UpstreamBusyError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Cancel } from '../util/cancel.js';
import { afterPendingIo, type Clock, type Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { FrameDecoder, frame, type ResponseScan } from '../wire/index.js';
import { checkResponse, isScan, type RejectReason, TRUNCATED } from './validate.js';

export interface TcpPoolOptions {
  /** Connections kept to this upstream at most. */
  readonly maxConnections: number;
  /** Queries pipelined on one connection at most (RFC 7766 §6.2.1.1). */
  readonly maxInflightPerConnection: number;
  /** Close a connection after this long with nothing in flight. */
  readonly idleTimeoutMs: number;
}

interface Pending {
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly resolve: (answer: { bytes: Buffer; scan: ResponseScan }) => void;
  readonly reject: (err: Error) => void;
  readonly timer: Timer;
}

/** One pipelined connection (RFC 7766 §6.2.1.1): many queries in flight, answers matched by ID in any order. */
class Connection {
  readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private idle: Timer | undefined;
  /** Runs while part of an answer is buffered (watchPartial). */
  private partial: Timer | undefined;
  closed = false;
  /** Queries sent on this connection so far. */
  sent = 0;

  constructor(
    private readonly socket: Socket,
    private readonly label: string,
    private readonly opts: TcpPoolOptions,
    private readonly clock: Clock,
    private readonly onReject: (reason: RejectReason) => void,
    private readonly onClose: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      let completed = false;
      const ok = this.decoder.push(chunk, (msg) => {
        completed = true;
        this.onFrame(msg);
      });
      if (!ok) this.destroy(new UpstreamNetworkError(`${label}: zero-length frame`));
      else this.watchPartial(completed);
    });
    socket.on('error', (err) => this.destroy(new UpstreamNetworkError(`tcp ${label}: ${err.message}`, { cause: err })));
    socket.on('close', () => this.destroy(new UpstreamNetworkError(`tcp ${label}: connection closed`)));
    this.armIdle();
  }

  send(id: number, p: Pending): void {
    this.idle?.cancel();
    this.idle = undefined;
    this.pending.set(id, p);
    this.sent++;
    this.socket.write(frame(p.query));
  }

  forget(id: number): void {
    this.pending.delete(id);
    this.armIdle();
  }

  /**
   * An answer begun must arrive whole within idleTimeoutMs of its first byte. An upstream that stops in the middle of
   * one — or sends a length prefix and nothing after it — blocks every answer behind it, since a TCP stream is in
   * order: the connection is closed, failing what waits on it, rather than kept for new queries to time out on.
   */
  private watchPartial(completed: boolean): void {
    if (this.decoder.buffered === 0 || completed) {
      this.partial?.cancel();
      this.partial = undefined;
    }
    if (this.decoder.buffered === 0 || this.partial !== undefined || this.closed) return;
    this.partial = this.clock.setTimer(() => {
      this.onReject('stalled');
      this.destroy(new UpstreamNetworkError(`tcp ${this.label}: stalled in the middle of a message`));
    }, this.opts.idleTimeoutMs);
  }

  private onFrame(msg: Buffer): void {
    const id = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
    const p = this.pending.get(id);
    const verdict = p === undefined ? 'id' : checkResponse(msg, p.query, p.questionEnd);
    // Over TCP there is no larger transport to retry on; a TC=1 answer here is unusable.
    if (p === undefined || !isScan(verdict)) {
      this.onReject(verdict === TRUNCATED ? 'malformed' : (verdict as RejectReason));
      return;
    }
    this.pending.delete(id);
    p.timer.cancel();
    p.resolve({ bytes: msg, scan: verdict });
    this.armIdle();
  }

  private armIdle(): void {
    if (this.pending.size > 0 || this.closed || this.idle) return;
    this.idle = this.clock.setTimer(() => this.destroy(undefined), this.opts.idleTimeoutMs);
  }

  destroy(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.idle?.cancel();
    this.partial?.cancel();
    this.socket.destroy();
    const failure = err ?? new UpstreamNetworkError(`tcp ${this.label}: connection closed`);
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(failure);
    }
    this.pending.clear();
    this.onClose(this);
  }
}

/** Reused, pipelined TCP connections to one upstream (docs/design.md §6, RFC 7766). */
export class TcpPool {
  private readonly connections: Connection[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: TcpPoolOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onReject: (reason: RejectReason) => void,
  ) {}

  /**
   * Sends `query` (its ID is overwritten with a fresh random one) and resolves with the validated answer. If a
   * reused connection closes under the query — the upstream's idle close racing our write, RFC 7766 §6.2.3 — the
   * query is sent once more on a new connection.
   */
  async exchange(
    query: Buffer,
    questionEnd: number,
    timeoutMs: number,
    signal?: Cancel,
  ): Promise<{ bytes: Buffer; scan: ResponseScan }> {
    const conn = this.pick();
    const reused = conn !== undefined && conn.sent > 0;
    try {
      return await this.sendOn(conn, query, questionEnd, timeoutMs, signal);
    } catch (err) {
      if (!reused || !(err instanceof UpstreamNetworkError) || err instanceof AbandonedError || !conn.closed) throw err;
      return this.sendOn(this.pick(), query, questionEnd, timeoutMs, signal);
    }
  }

  private sendOn(
    conn: Connection | undefined,
    query: Buffer,
    questionEnd: number,
    timeoutMs: number,
    signal: Cancel | undefined,
  ): Promise<{ bytes: Buffer; scan: ResponseScan }> {
    if (conn === undefined) {
      return Promise.reject(new UpstreamBusyError(`tcp ${this.host}:${this.port}: all connections are full`));
    }
    if (signal?.cancelled) return Promise.reject(new AbandonedError(`tcp ${this.host}:${this.port}: abandoned`));
    let id = this.random.id16();
    while (conn.pending.has(id)) id = (id + 1) & 0xffff;
    query.writeUInt16BE(id, 0);
    return new Promise((resolve, reject) => {
      let settled = false;
      let off = () => {};
      const settle =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          if (settled) return;
          settled = true;
          off();
          fn(v);
        };
      const giveUp = (err: Error) => {
        if (settled) return;
        conn.forget(id);
        settle(reject)(err);
      };
      const onAbort = () => {
        timer.cancel();
        giveUp(new AbandonedError(`tcp ${this.host}:${this.port}: abandoned`));
      };
      const timer = this.clock.setTimer(() => {
        const err = new UpstreamTimeoutError(
          `no answer from ${this.host}:${this.port} over tcp within ${timeoutMs} ms`,
        );
        afterPendingIo(() => giveUp(err));
      }, timeoutMs);
      off = signal?.onCancel(onAbort) ?? off;
      conn.send(id, { query, questionEnd, resolve: settle(resolve), reject: settle(reject), timer });
    });
  }

  /** The least busy open connection with room (pipelining before opening more), else a new one under the cap. */
  private pick(): Connection | undefined {
    let best: Connection | undefined;
    for (const c of this.connections) {
      if (
        c.pending.size < this.opts.maxInflightPerConnection &&
        (best === undefined || c.pending.size < best.pending.size)
      ) {
        best = c;
      }
    }
    if (best !== undefined) return best;
    if (this.connections.length < this.opts.maxConnections) {
      const socket = connect({ host: this.host, port: this.port });
      const conn = new Connection(socket, `${this.host}:${this.port}`, this.opts, this.clock, this.onReject, (c) => {
        const i = this.connections.indexOf(c);
        if (i !== -1) this.connections.splice(i, 1);
      });
      this.connections.push(conn);
      return conn;
    }
    return undefined;
  }

  close(): void {
    for (const c of [...this.connections]) c.destroy(new UpstreamNetworkError('upstream pool closed'));
  }
}
