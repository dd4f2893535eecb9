// Timelines over real sockets on a ManualClock: clients that note the virtual time each answer arrived, and a way to
// move the clock forward only once the sockets have gone quiet, so what a test measures is virtual time, the same on
// a busy machine as on an idle one.
import { createSocket, type Socket } from 'node:dgram';
import type { ManualClock } from '../../src/util/clock.js';
import { buildQuery, header, Packet, type QueryOptions } from './client.js';

export interface Asked {
  readonly name: string;
  /** Virtual time the query was sent. */
  readonly sentAt: number;
  /** Virtual time its answer arrived, once it has. */
  at?: number;
  rcode?: number;
  /** The A records' addresses of the answer. */
  addresses?: string[];
  /** The whole answer. */
  raw?: Buffer;
}

/**
 * One client address: every query gets its own ID, and its answer is noted against the clock. Queries go out over
 * several sockets in turn, so a burst of answers released by one clock step is spread over several kernel receive
 * buffers instead of overflowing one (ballast sees one client either way: it knows clients by address).
 */
export class TimedClient {
  readonly asked = new Map<number, Asked>();
  received = 0;
  private nextId = 1;

  private constructor(
    private readonly sockets: Socket[],
    private readonly port: number,
    private readonly clock: ManualClock,
  ) {
    for (const s of sockets) s.on('message', (m) => this.receive(m));
  }

  private receive(m: Buffer): void {
    const q = this.asked.get(m.readUInt16BE(0));
    if (q === undefined || q.at !== undefined) return;
    this.received++;
    q.at = this.clock.now();
    q.rcode = header(m).rcode;
    q.raw = m;
    q.addresses = Packet.parse(m).answers.flatMap((r) => ('address' in r ? [String(r.address)] : []));
  }

  static async open(port: number, clock: ManualClock, from = '127.0.0.1', sockets = 16): Promise<TimedClient> {
    const list = await Promise.all(
      Array.from({ length: sockets }, () => {
        const socket = createSocket('udp4');
        return new Promise<Socket>((resolve) => socket.bind(0, from, () => resolve(socket)));
      }),
    );
    return new TimedClient(list, port, clock);
  }

  /** Sends one query; returns what will hold its answer. */
  ask(name: string, type: number = Packet.TYPE.A, opts: QueryOptions = {}): Asked {
    const id = this.nextId++;
    if (id > 65_535) throw new Error('TimedClient: out of IDs');
    const q: Asked = { name, sentAt: this.clock.now() };
    this.asked.set(id, q);
    const socket = this.sockets[id % this.sockets.length];
    socket.send(buildQuery(name, type, { ...opts, id }), this.port, '127.0.0.1');
    return q;
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Resolves once `activity()` (a count of packets seen somewhere) has not changed for `quietMs` of real time and for
 * at least four checks in a row: what was in flight on loopback has been handled. Each check waits for a timer and
 * then for the event loop's poll phase (setImmediate runs after it), so a process that was descheduled cannot look
 * quiet just because its timers ran before the sockets it had not read yet. Bounded by `timeoutMs`.
 */
export async function quiesce(
  activity: () => number,
  quietMs = 10,
  timeoutMs = 20_000,
  sync?: () => Promise<unknown>,
): Promise<void> {
  const started = Date.now();
  let last = activity();
  let since = Date.now();
  let checks = 0;
  while (Date.now() - since < quietMs || checks < 4) {
    if (Date.now() - started > timeoutMs) throw new Error(`still busy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setImmediate(r));
    // Peers in a worker (peer.ts): a round trip there, so what they had in their sockets is counted too.
    await sync?.();
    const now = activity();
    checks++;
    if (now !== last) {
      last = now;
      since = Date.now();
      checks = 0;
    }
  }
}

/**
 * Moves `clock` forward by `stepMs` at a time for `forMs` in all, letting the sockets go quiet after each step;
 * `each` runs before every step (to send queries on a schedule), and the run stops early when `done()` holds.
 */
export async function drive(
  clock: ManualClock,
  opts: {
    stepMs: number;
    forMs: number;
    activity: () => number;
    each?: (t: number) => void;
    done?: () => boolean;
    /** For peers in a worker (peer.ts): awaited at every check of quiet. */
    sync?: () => Promise<unknown>;
  },
): Promise<void> {
  const end = clock.now() + opts.forMs;
  while (clock.now() < end) {
    opts.each?.(clock.now());
    await quiesce(opts.activity, undefined, undefined, opts.sync);
    if (opts.done?.()) return;
    clock.advance(Math.min(opts.stepMs, end - clock.now()));
  }
  await quiesce(opts.activity, undefined, undefined, opts.sync);
}

/** The `p`-th percentile (0–100) of virtual latencies; unanswered queries count as infinitely late. */
export function percentile(asked: Iterable<Asked>, p: number): number {
  const ms = [...asked].map((q) => (q.at === undefined ? Number.POSITIVE_INFINITY : q.at - q.sentAt));
  ms.sort((a, b) => a - b);
  return ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)];
}
