import { createSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { Ede, edeCodeOf, FrameDecoder, frame, ownQuery, scanResponse } from '../wire/index.js';
import type { Name } from './names.js';
import type { DrillOptions } from './options.js';

/** The EDNS payload size the drill advertises (DNS Flag Day 2020). */
const DRILL_UDP_SIZE = 1232;

/** One query with RD and EDNS (so stale answers carry their EDE), built by the wire codec. */
export function encodeQuery(id: number, n: Name): Buffer {
  const { query } = ownQuery(n.wire, n.type, DRILL_UDP_SIZE);
  query.writeUInt16BE(id, 0);
  return query;
}

/** A transport that sends queries and reports each answer (or timeout) by ID. */
export interface Transport {
  send(msg: Buffer): void;
  close(): void;
}

export function udpTransport(opts: DrillOptions, onAnswer: (msg: Buffer) => void): Transport {
  const socket = createSocket(isIPv6(opts.target.host) ? 'udp6' : 'udp4');
  socket.on('message', onAnswer);
  socket.on('error', () => {});
  return {
    send: (msg) => socket.send(msg, opts.target.port, opts.target.host),
    close: () => socket.close(),
  };
}

export function tcpTransport(opts: DrillOptions, onAnswer: (msg: Buffer) => void): Transport {
  let sock: Socket | undefined;
  let closed = false;
  const open = () => {
    const s = connect({ host: opts.target.host, port: opts.target.port });
    const frames = new FrameDecoder();
    s.setNoDelay(true);
    s.on('data', (d) => {
      if (!frames.push(d, onAnswer)) s.destroy();
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (sock === s) sock = undefined;
    });
    return s;
  };
  return {
    send(msg) {
      if (closed) return;
      sock ??= open();
      sock.write(frame(msg));
    },
    close() {
      closed = true;
      sock?.destroy();
    },
  };
}

/** A stale answer: EDE 3 or 19 (RFC 8914), with or without EXTRA-TEXT (a last known good answer says why). */
export function isStale(msg: Buffer): boolean {
  try {
    const scan = scanResponse(msg);
    const ede = edeCodeOf(msg, scan.optStart, scan.optEnd);
    return ede === Ede.STALE_ANSWER || ede === Ede.STALE_NXDOMAIN;
  } catch {
    return false;
  }
}
