// Ballast's peers in a worker thread (test/helpers/peer-worker.ts): a flooding client and the fake upstream it floods
// through put their load on another event loop, so the one ballast runs on is not starved by its own test's load
// generator. For timelines on a ManualClock (test/helpers/timeline.ts): the worker sees the clock through shared
// memory, and `sync()` is the round trip that proves every packet already on loopback has been read over there.
import { Worker } from 'node:worker_threads';
import type { ManualClock } from '../../src/util/clock.js';
import { buildQuery, Packet, type QueryOptions } from './client.js';
import type { Arrival, BulkSetup, ClientSetup, Command, UpstreamSetup } from './peer-worker.js';
import type { Asked } from './timeline.js';

/** Int32 slots of the shared memory after the Float64 clock: packets in and out of the worker (as peer-worker.ts). */
const SLOT = { in: 2, out: 3 } as const;
const SHARED_BYTES = 16;
const WORKER = new URL('./peer-worker.ts', import.meta.url);

/** A worker and its shared memory; the clock is mirrored into it every time it moves. */
class Peer {
  private seq = 0;
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  private readonly counters: Int32Array;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
  ) {
    this.counters = new Int32Array(shared);
    worker.on('message', (m: { seq?: number }) => {
      if (m.seq === undefined) return;
      this.waiting.get(m.seq)?.(m);
      this.waiting.delete(m.seq);
    });
    worker.on('exit', () => {
      this.exited = true;
    });
  }

  /** Without a clock, the worker's time stands at 0: an upstream's delay of 0 answers at once, on real time. */
  static async start(
    setup: Omit<ClientSetup, 'shared'> | Omit<UpstreamSetup, 'shared'>,
    clock: ManualClock | undefined,
  ): Promise<{ peer: Peer; ready: Record<string, unknown> }> {
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    if (clock !== undefined) {
      const now = new Float64Array(shared, 0, 1);
      now[0] = clock.now();
      // Every move of the clock is seen by the worker before the main thread does anything else.
      const advance = clock.advance.bind(clock);
      clock.advance = (ms: number) => {
        advance(ms);
        now[0] = clock.now();
      };
    }
    const worker = new Worker(WORKER, { workerData: { ...setup, shared } });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', resolve);
    });
    return { peer: new Peer(worker, shared), ready };
  }

  /** Packets into and out of the worker so far: moves while anything is on its way (no round trip). */
  get moving(): number {
    return Atomics.load(this.counters, SLOT.in) + Atomics.load(this.counters, SLOT.out);
  }

  send(c: Command): void {
    this.worker.postMessage(c);
  }

  /** Resolves once the worker has handled everything sent to it and read every packet already in its sockets. */
  sync(): Promise<Record<string, unknown>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error('peer worker exited'));
      this.waiting.set(seq, resolve);
      this.send({ op: 'sync', seq });
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.send({ op: 'close' });
    await exited;
  }
}

/**
 * A TimedClient (timeline.ts) whose sockets live in a worker: `ask` is the same, and answers show up on the Asked
 * at each `sync()` (which drive() and quiesce() call), with the virtual time they arrived.
 */
export class WorkerClient {
  readonly asked = new Map<number, Asked>();
  /** Answers delivered to `asked` so far. */
  received = 0;
  private nextId = 1;
  private batch: { id: number; bytes: Uint8Array }[] = [];

  private constructor(
    private readonly peer: Peer,
    private readonly clock: ManualClock | undefined,
  ) {}

  /** Without a clock, answers are stamped 0 and `sentAt` is 0: for a flood on real time that needs no latencies. */
  static async open(
    port: number,
    clock: ManualClock | undefined,
    from = '127.0.0.1',
    sockets = 16,
  ): Promise<WorkerClient> {
    const { peer } = await Peer.start({ role: 'client', port, from, sockets }, clock);
    return new WorkerClient(peer, clock);
  }

  /** Sends one query (from the worker, in a batch with the others asked in this turn); returns what will hold its answer. */
  ask(name: string, type: number = Packet.TYPE.A, opts: QueryOptions = {}): Asked {
    const id = this.nextId++;
    if (id > 65_535) throw new Error('WorkerClient: out of IDs');
    const q: Asked = { name, sentAt: this.clock?.now() ?? 0 };
    this.asked.set(id, q);
    if (this.batch.length === 0) queueMicrotask(() => this.flush());
    this.batch.push({ id, bytes: buildQuery(name, type, { ...opts, id }) });
    return q;
  }

  private flush(): void {
    const queries = this.batch;
    this.batch = [];
    if (queries.length > 0) this.peer.send({ op: 'ask', queries });
  }

  /** Sends raw datagrams (anything at all, no answer expected) from the worker's sockets; resolves once sent. */
  async sendRaw(datagrams: Buffer[]): Promise<void> {
    this.peer.send({ op: 'raw', datagrams });
    await this.sync();
  }

  get moving(): number {
    return this.peer.moving;
  }

  async sync(): Promise<void> {
    this.flush();
    const { arrived } = (await this.peer.sync()) as { arrived: Arrival[] };
    for (const a of arrived) {
      const q = this.asked.get(a.id);
      if (q === undefined || q.at !== undefined) continue;
      this.received++;
      q.at = a.at;
      q.rcode = a.rcode;
      q.raw = Buffer.from(a.raw);
      q.addresses = Packet.parse(q.raw).answers.flatMap((r) => ('address' in r ? [String(r.address)] : []));
    }
  }

  close(): Promise<void> {
    return this.peer.close();
  }
}

/**
 * A fake upstream in a worker, on the test's ManualClock (or, without one and with delayMs 0, answering at once on
 * real time): every A query answered with `address` (TTL 60), any other
 * type with an empty NOERROR (a health probe's SOA), each `delayMs` of virtual time after it arrived. UDP only.
 */
export class WorkerUpstream {
  private readonly names = new Map<string, number>();
  /** Queries received, as of the last sync. */
  queries = 0;

  private constructor(
    private readonly peer: Peer,
    readonly port: number,
  ) {}

  static async start(
    clock: ManualClock | undefined,
    opts: { delayMs: number; address?: string },
  ): Promise<WorkerUpstream> {
    const { peer, ready } = await Peer.start(
      { role: 'upstream', delayMs: opts.delayMs, address: opts.address ?? '192.0.2.1' },
      clock,
    );
    return new WorkerUpstream(peer, ready.port as number);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Queries received for `name` (case-insensitive) as of the last sync. */
  count(name: string): number {
    return this.names.get(name.toLowerCase()) ?? 0;
  }

  get moving(): number {
    return this.peer.moving;
  }

  /** Sends the answers due at the clock's time, and reads every query already in the socket. */
  async sync(): Promise<void> {
    const { names } = (await this.peer.sync()) as { names: string[] };
    this.queries += names.length;
    for (const n of names) this.names.set(n, (this.names.get(n) ?? 0) + 1);
  }

  close(): Promise<void> {
    return this.peer.close();
  }
}

/**
 * Many UDP clients in a worker, on the real clock: each group is one source address sending its messages at once
 * (exchange.ts udpBulk). Resolves with each group's answers in order, null where none came within `waitMs`.
 */
export async function bulkInWorker(
  port: number,
  groups: { from: string; msgs: Buffer[] }[],
  waitMs = 5000,
): Promise<(Buffer | null)[][]> {
  const setup: Omit<BulkSetup, 'shared'> = { role: 'bulk', port, waitMs, groups };
  const worker = new Worker(WORKER, { workerData: { ...setup, shared: new SharedArrayBuffer(SHARED_BYTES) } });
  try {
    const { results } = await new Promise<{ results: (Uint8Array | null)[][] }>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`bulk worker exited with ${code} before reporting`)));
      worker.once('message', resolve);
    });
    return results.map((r) => r.map((a) => (a === null ? null : Buffer.from(a))));
  } finally {
    await worker.terminate();
  }
}
