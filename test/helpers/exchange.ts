// One DNS exchange over UDP or TCP on plain node:dgram / node:net sockets, bytes in and bytes out (no codec): the
// tests' client (test/helpers/client.ts re-exports it). The bench scripts use it too (bench/lib/dns.js,
// bench/lib/conformance/): it imports only node: modules and its types are erasable, so Node.js 24 runs it as it is.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/**
 * Sends raw bytes over UDP from a fresh socket (bound to `from` when given) and resolves with the first datagram back
 * that carries the query's ID, or null after `waitMs`; rejects on a socket error.
 */
export function udpExchange(
  port: number,
  msg: Buffer,
  waitMs = 3000,
  host = '127.0.0.1',
  from: string | undefined = undefined,
): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      // A late datagram meant for an earlier owner of this ephemeral port is not our answer.
      if (msg.length >= 2 && (m.length < 2 || m.readUInt16BE(0) !== msg.readUInt16BE(0))) return;
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    // From `from` when given: one client address out of many, as a node's pods are.
    if (from === undefined) s.send(msg, port, host);
    else s.bind(0, from, () => s.send(msg, port, host));
  });
}

/**
 * Sends framed messages on one new TCP connection and resolves with `expect` answers (unframed, in arrival order);
 * rejects on a socket error or when they have not all come within `waitMs`.
 */
export function tcpExchange(
  port: number,
  msgs: Buffer[],
  expect = msgs.length,
  host = '127.0.0.1',
  waitMs = 5000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp: got ${out.length} of ${expect} answers`));
    }, waitMs);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= expect) {
        clearTimeout(t);
        sock.end();
        resolve(out);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    const framed = msgs.map((m) => {
      const f = Buffer.alloc(2 + m.length);
      f.writeUInt16BE(m.length, 0);
      m.copy(f, 2);
      return f;
    });
    sock.write(Buffer.concat(framed));
  });
}

export interface BulkOptions {
  from?: string;
  host?: string;
  waitMs?: number;
  schedule?: number[];
}

/** One message's result: the answer and how long it took, or nulls when none came in time. */
export interface BulkResult {
  answer: Buffer | null;
  ms: number | null;
}

/**
 * Many queries from one UDP socket bound to `from` (one client address, as a busy pod is), each with its own ID:
 * `msgs` are sent as `schedule` says (ms after the start, default all at once). Resolves with one result per
 * message, in order: `{ answer, ms }` (the first datagram back with its ID, and how long it took), or
 * `{ answer: null, ms: null }` when none came within `waitMs` of its own sending. Bounded: every message is sent
 * once, and the socket closes when all are answered or timed out.
 */
export function udpBulk(
  port: number,
  msgs: Buffer[],
  { from = '127.0.0.1', host = '127.0.0.1', waitMs = 5000, schedule }: BulkOptions = {},
): Promise<BulkResult[]> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    const results: BulkResult[] = msgs.map(() => ({ answer: null, ms: null }));
    const byId = new Map<number, number>();
    const sentAt: number[] = new Array(msgs.length);
    let open = msgs.length;
    const timers: NodeJS.Timeout[] = [];
    const done = () => {
      if (--open === 0) {
        for (const t of timers) clearTimeout(t);
        s.close();
        resolve(results);
      }
    };
    s.on('message', (m) => {
      if (m.length < 2) return;
      const i = byId.get(m.readUInt16BE(0));
      if (i === undefined || results[i].answer !== null) return;
      results[i] = { answer: m, ms: performance.now() - sentAt[i] };
      byId.delete(m.readUInt16BE(0));
      done();
    });
    s.on('error', (e) => {
      for (const t of timers) clearTimeout(t);
      s.close();
      reject(e);
    });
    s.bind(0, from, () => {
      const t0 = performance.now();
      msgs.forEach((msg, i) => {
        const send = () => {
          byId.set(msg.readUInt16BE(0), i);
          sentAt[i] = performance.now();
          s.send(msg, port, host);
          timers.push(
            setTimeout(() => {
              if (results[i].answer === null && byId.get(msg.readUInt16BE(0)) === i) {
                byId.delete(msg.readUInt16BE(0));
                done();
              }
            }, waitMs),
          );
        };
        const at = schedule?.[i] ?? 0;
        if (at <= 0) send();
        else timers.push(setTimeout(send, Math.max(0, at - (performance.now() - t0))));
      });
    });
  });
}
