// The body of a worker thread that plays ballast's peers on loopback — its clients, or a fake upstream — so the load
// they put on the CPU is not on the event loop ballast runs on (test/helpers/peer.ts starts it and talks to it).
// Node.js runs this file as it is (erasable types, node: modules only, no codec): it is never transformed by vitest.
//
// Virtual time: the test's ManualClock is mirrored into `shared` (a Float64 at byte 0) by the main thread whenever it
// moves; answers are stamped with it and an upstream's delays are measured on it. Counters at Int32 index 2… tell the
// main thread, without a round trip, that packets are still moving (see peer.ts `activity`).
import { createSocket, type Socket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';

export interface ClientSetup {
  readonly role: 'client';
  readonly port: number;
  readonly from: string;
  readonly sockets: number;
  readonly shared: SharedArrayBuffer;
}

export interface UpstreamSetup {
  readonly role: 'upstream';
  /** Virtual milliseconds before each answer is sent. */
  readonly delayMs: number;
  /** The address every A query is answered with (TTL 60); other types get an empty NOERROR. */
  readonly address: string;
  readonly shared: SharedArrayBuffer;
}

/** Int32 slots of `shared` after the Float64 clock: packets in and out of this worker (peer.ts reads the same). */
const SLOT = { in: 2, out: 3 } as const;

/** One answer a client received: the query's ID, the virtual time, the rcode and the raw bytes. */
export interface Arrival {
  readonly id: number;
  readonly at: number;
  readonly rcode: number;
  readonly raw: Uint8Array;
}

/** Many UDP clients at once, each a source address with its queries (exchange.ts udpBulk), on the real clock. */
export interface BulkSetup {
  readonly role: 'bulk';
  readonly port: number;
  readonly waitMs: number;
  readonly groups: readonly { readonly from: string; readonly msgs: readonly Uint8Array[] }[];
  readonly shared: SharedArrayBuffer;
}

export type Command =
  | { readonly op: 'ask'; readonly queries: readonly { readonly id: number; readonly bytes: Uint8Array }[] }
  | { readonly op: 'raw'; readonly datagrams: readonly Uint8Array[] }
  | { readonly op: 'sync'; readonly seq: number }
  | { readonly op: 'close' };

const setup = workerData as ClientSetup | UpstreamSetup | BulkSetup;
const port = parentPort!;
const now = new Float64Array(setup.shared, 0, 1);
const counters = new Int32Array(setup.shared);
const count = (slot: number) => Atomics.add(counters, slot, 1);

function bind(socket: Socket, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve(socket.address().port));
  });
}

/** The end of the question section (one question), or -1 when the message is too short. */
function questionEnd(msg: Buffer): number {
  let at = 12;
  while (at < msg.length && msg[at] !== 0) at += msg[at] + 1;
  return at + 5 <= msg.length ? at + 5 : -1;
}

/** The question's name in lower case, dotted. */
function qname(msg: Buffer): string {
  const labels: string[] = [];
  for (let at = 12; at < msg.length && msg[at] !== 0; at += msg[at] + 1)
    labels.push(msg.toString('latin1', at + 1, at + 1 + msg[at]));
  return labels.join('.').toLowerCase();
}

async function client(s: ClientSetup): Promise<void> {
  const sockets = Array.from({ length: s.sockets }, () => createSocket('udp4'));
  await Promise.all(sockets.map((socket) => bind(socket, s.from)));
  const arrived: Arrival[] = [];
  /** IDs answered: the first answer to each counts (the main thread gives every query its own ID). */
  const seen = new Set<number>();
  for (const socket of sockets)
    socket.on('message', (m) => {
      if (m.length < 12) return;
      const id = m.readUInt16BE(0);
      if (seen.has(id)) return;
      seen.add(id);
      count(SLOT.in);
      arrived.push({ id, at: now[0], rcode: m[3] & 0x0f, raw: new Uint8Array(m) });
    });
  port.on('message', (c: Command) => {
    if (c.op === 'ask') {
      for (const q of c.queries) {
        sockets[q.id % sockets.length].send(q.bytes, s.port, '127.0.0.1');
        count(SLOT.out);
      }
    } else if (c.op === 'raw') {
      c.datagrams.forEach((d, i) => {
        sockets[i % sockets.length].send(d, s.port, '127.0.0.1');
        count(SLOT.out);
      });
    } else if (c.op === 'sync') {
      // After the poll phase: every answer already in a socket's queue has been read.
      setImmediate(() => port.postMessage({ seq: c.seq, arrived: arrived.splice(0) }));
    } else {
      for (const socket of sockets) socket.close();
      port.close();
    }
  });
  port.postMessage({ ready: true });
}

async function upstream(s: UpstreamSetup): Promise<void> {
  const socket = createSocket('udp4');
  const udpPort = await bind(socket, '127.0.0.1');
  const rdata = Buffer.from(s.address.split('.').map(Number));
  /** Answers waiting for their virtual time, in the order they were asked (one delay for all: in time order too). */
  const due: { at: number; bytes: Buffer; port: number; address: string }[] = [];
  const names: string[] = [];
  const release = () => {
    while (due.length > 0 && due[0].at <= now[0]) {
      const d = due.shift()!;
      socket.send(d.bytes, d.port, d.address);
      count(SLOT.out);
    }
  };
  socket.on('message', (m, rinfo) => {
    const end = questionEnd(m);
    if (end < 0) return;
    count(SLOT.in);
    names.push(qname(m));
    const qtype = m.readUInt16BE(end - 4);
    const a = qtype === 1;
    const header = Buffer.from(m.subarray(0, end));
    header[2] = 0x80 | (m[2] & 0x01) | 0x04; // QR, AA, and RD as asked
    header[3] = 0x80; // RA, NOERROR
    header.writeUInt16BE(a ? 1 : 0, 6); // ANCOUNT
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(0, 10); // the query's OPT is not echoed
    const answer = a
      ? Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), rdata])
      : header;
    due.push({ at: now[0] + s.delayMs, bytes: answer, port: rinfo.port, address: rinfo.address });
    release();
  });
  port.on('message', (c: Command) => {
    if (c.op === 'sync') {
      release();
      setImmediate(() => port.postMessage({ seq: c.seq, names: names.splice(0) }));
    } else if (c.op === 'close') {
      socket.close();
      port.close();
    }
  });
  port.postMessage({ ready: true, port: udpPort });
}

async function bulk(s: BulkSetup): Promise<void> {
  // exchange.ts is plain Node.js too (erasable types, node: modules); imported by URL, as Node.js runs it.
  const { udpBulk } = (await import(new URL('./exchange.ts', import.meta.url).href)) as {
    udpBulk: (
      port: number,
      msgs: Buffer[],
      o: { from: string; waitMs: number },
    ) => Promise<{ answer: Buffer | null; ms: number | null }[]>;
  };
  const results = await Promise.all(
    s.groups.map((g) =>
      udpBulk(
        s.port,
        g.msgs.map((m) => Buffer.from(m)),
        { from: g.from, waitMs: s.waitMs },
      ),
    ),
  );
  port.postMessage({
    results: results.map((r) => r.map((x) => (x.answer === null ? null : new Uint8Array(x.answer)))),
  });
  port.close();
}

await (setup.role === 'client' ? client(setup) : setup.role === 'upstream' ? upstream(setup) : bulk(setup));
