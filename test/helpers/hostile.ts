// An upstream under the test's full control, on 127.0.0.1 (UDP and TCP on one port 0): every query ballast sends is
// handed to the test with the raw socket it came on, so the test can answer anything at all — garbage, forgeries,
// oversized messages, half a TCP frame — in any order. No codec: bytes in, bytes out.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { bindPair } from '../../src/server/index.js';
import { FrameDecoder, frame } from '../../src/wire/index.js';

export interface HostileQuery {
  readonly raw: Buffer;
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  /** The source port ballast sent from. */
  readonly port: number;
  /** Sends one message back: a datagram from the upstream's port, or a length-prefixed TCP frame. */
  reply(message: Buffer): void;
  /** The TCP connection it came on (to write raw bytes, stall or reset), or undefined for UDP. */
  readonly tcp?: Socket;
  /** The UDP peer, to send from elsewhere. */
  readonly rinfo?: RemoteInfo;
}

export interface HostileUpstream {
  readonly port: number;
  /** "127.0.0.1:PORT". */
  readonly address: string;
  /** Every query received, ballast's loop checks included. */
  readonly queries: HostileQuery[];
  /** What to do with each query; replaced freely by a test. Loop checks ("ballast-loop-…") never reach it. */
  onQuery: (q: HostileQuery) => void;
  /** TCP connections accepted so far, and those still open. */
  readonly accepted: number;
  readonly open: number;
  close(): Promise<void>;
}

export async function startHostileUpstream(onQuery: (q: HostileQuery) => void = () => {}): Promise<HostileUpstream> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const state = { onQuery };
  const queries: HostileQuery[] = [];
  const arrive = (q: HostileQuery) => {
    queries.push(q);
    if (!q.raw.includes(Buffer.from('ballast-loop-'))) state.onQuery(q);
  };
  const { udp, tcp, port } = await bindPair(
    0,
    async (p) => {
      const s: UdpSocket = createSocket('udp4');
      s.on('message', (raw, rinfo) => {
        if (raw.length < 12) return;
        const reply = (m: Buffer) => s.send(m, rinfo.port, rinfo.address);
        arrive({ raw, transport: 'udp', id: raw.readUInt16BE(0), port: rinfo.port, reply, rinfo });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(p, '127.0.0.1', () => resolve());
      });
      return { port: s.address().port, socket: s, close: () => new Promise<void>((r) => s.close(() => r())) };
    },
    (p) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer((socket) => {
          accepted++;
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
          const decoder = new FrameDecoder();
          socket.on('data', (chunk) =>
            decoder.push(chunk, (raw) => {
              const reply = (m: Buffer) => {
                if (!socket.destroyed) socket.write(frame(m));
              };
              arrive({
                raw,
                transport: 'tcp',
                id: raw.readUInt16BE(0),
                port: socket.remotePort ?? 0,
                reply,
                tcp: socket,
              });
            }),
          );
        });
        server.once('error', reject);
        server.listen({ port: p, host: '127.0.0.1', exclusive: true }, () => resolve(server));
      }),
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    queries,
    get onQuery() {
      return state.onQuery;
    },
    set onQuery(fn) {
      state.onQuery = fn;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([udp.close(), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
