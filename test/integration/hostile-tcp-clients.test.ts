// Hostile TCP clients (docs/design.md §6), over real loopback sockets: a slowloris client that sends a message a byte
// at a time, one that sends part of a length prefix, and thousands of idle connections. ballast closes the slow and
// the idle (server.tcp.idleTimeoutMs, short here so the test is quick: it is the timer under test), never holds more
// than server.tcp.maxConnections (small here), and a new client still gets an answer.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, header, tcpQuery } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const IDLE_MS = 300;
const CAP = 20;

interface Client {
  readonly sock: Socket;
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

/** A connected client socket, and its close (by ballast: the client never ends it first). */
async function open(port: number): Promise<Client> {
  const sock = connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    sock.once('close', () => {
      isClosed = true;
      r();
    }),
  );
  // ballast half-closes an idle connection (end): end ours too, so the close completes.
  sock.on('end', () => sock.end());
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  return { sock, closed, isClosed: () => isClosed };
}

describe('hostile TCP clients', () => {
  let upstream: FakeUpstream;
  let b: Running;
  const closedFor = (reason: string) => b.metric('ballast_tcp_connections_closed_total', { reason });

  beforeAll(async () => {
    upstream = await startFakeUpstream({ records: { 'ok.test/1': [a('ok.test', '192.0.2.1')] } });
    b = await startBallast({
      upstream: { servers: [upstream.address] },
      server: { tcp: { idleTimeoutMs: IDLE_MS, maxConnections: CAP, maxInflightPerConnection: 10 } },
    });
  });
  afterAll(async () => {
    await b.close();
    await upstream.close();
  });

  it('closes a slowloris connection that sends a byte at a time, however often the bytes come', async () => {
    const before = await closedFor('slow');
    const { sock, closed } = await open(b.port);
    const message = Buffer.concat([Buffer.from([0, 27]), buildQuery('ok.test', 1)]);
    let sentBytes = 0;
    // A byte every third of the idle timeout: the idle timer alone would never fire.
    const drip = setInterval(() => {
      if (!sock.destroyed && sentBytes < message.length) sock.write(message.subarray(sentBytes, ++sentBytes));
    }, IDLE_MS / 3);
    try {
      await closed;
    } finally {
      clearInterval(drip);
    }
    expect(sentBytes).toBeLessThan(message.length);
    await until(async () => (await closedFor('slow')) === before + 1, 'the close counted as slow');
  });

  it('closes a connection that sends half a length prefix and nothing more', async () => {
    const before = (await closedFor('slow')) + (await closedFor('idle'));
    const { sock, closed } = await open(b.port);
    sock.write(Buffer.from([0]));
    await closed;
    await until(async () => (await closedFor('slow')) + (await closedFor('idle')) === before + 1, 'the close counted');
  });

  it('holds at most maxConnections of 2,000 idle connections, closing the idlest for each new one; then the idle timeout', async () => {
    const closedBefore = (await closedFor('evicted')) + (await closedFor('idle'));
    const evictedBefore = await closedFor('evicted');
    let live: Client[] = [];
    for (let batch = 0; batch < 20; batch++) {
      live.push(...(await Promise.all(Array.from({ length: 100 }, () => open(b.port)))));
      // Each connection past the cap closed another (or the idle timeout did): the client sees it closed.
      await until(() => live.filter((c) => !c.isClosed()).length <= CAP, 'ballast to keep to its cap');
      expect(await b.metric('ballast_tcp_connections')).toBeLessThanOrEqual(CAP);
      for (const c of live.filter((x) => x.isClosed())) c.sock.destroy();
      live = live.filter((c) => !c.isClosed());
    }
    // Never refused: there was always an idle connection to close instead.
    expect(await b.metric('ballast_tcp_connections_rejected_total')).toBe(0);
    expect((await closedFor('evicted')) - evictedBefore).toBeGreaterThan(1000);
    // A new client is served at once (one more idle connection closed for it).
    const ok = await tcpQuery(b.port, 'ok.test', 1);
    expect(ok.packet.answers[0].address).toBe('192.0.2.1');
    // The rest go at the idle timeout: every one of the 2,000 was closed by ballast, as evicted or idle.
    await Promise.all(live.map((c) => c.closed));
    for (const c of live) c.sock.destroy();
    await until(async () => (await b.metric('ballast_tcp_connections')) === 0, 'no open connection');
    expect((await closedFor('evicted')) + (await closedFor('idle')) - closedBefore).toBeGreaterThanOrEqual(2000);
  });

  it('closes a new connection at accept only when every one at the cap has a query in flight', async () => {
    upstream.mode = 'hold';
    const busy = await Promise.all(Array.from({ length: CAP }, () => open(b.port)));
    const answers: Promise<Buffer>[] = busy.map(
      ({ sock }, i) =>
        new Promise((resolve) => {
          let buf = Buffer.alloc(0);
          sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(buf.subarray(2));
          });
          const q = buildQuery(`held${i}.test`, 1, { id: i });
          sock.write(Buffer.concat([Buffer.from([0, q.length]), q]));
        }),
    );
    try {
      await until(() => upstream.count() >= CAP, 'every held query at the upstream', { timeoutMs: 20_000 });
      const rejectedBefore = await b.metric('ballast_tcp_connections_rejected_total');
      const late = await open(b.port);
      await late.closed;
      expect(await b.metric('ballast_tcp_connections_rejected_total')).toBe(rejectedBefore + 1);
    } finally {
      upstream.release();
    }
    for (const r of await Promise.all(answers)) expect(header(r).rcode).toBe(3);
    for (const c of busy) c.sock.destroy();
  });
});
