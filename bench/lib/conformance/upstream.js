// The fake upstreams of bench/conformance.js on their sockets: UDP and TCP on one port of 127.0.0.1 each, answering
// with fake.js's script (fakeAnswer), logging every query they receive, and able to stop answering (blackhole).

import dgram from 'node:dgram';
import net from 'node:net';
import { HOST } from '../env.js';
import { fakeAnswer } from './fake.js';

function bindUdp(port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function listenTcp(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: HOST, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * One fake upstream: `role` 'main' or 'old' (see fake.js fakeAnswer). `blackhole` drops every query. Every query it
 * receives goes to `log` as { at: now(), role, transport, name, type, cls, edns, do, dropped }.
 */
export async function startFake(role, { log, now }) {
  const fake = { role, blackhole: false, port: 0, close: null };
  const handle = (msg, transport) => {
    const { reply, seen } = fakeAnswer(msg, { role });
    if (seen) log.push({ at: now(), role, transport, ...seen, dropped: fake.blackhole });
    return fake.blackhole ? null : reply;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const udp = await bindUdp(0);
    const port = udp.address().port;
    const sockets = new Set();
    const tcp = net.createServer((sock) => {
      sockets.add(sock);
      let buf = Buffer.alloc(0);
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const reply = handle(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (reply) sock.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 255]), reply]));
        }
      });
      sock.on('error', () => {});
      sock.on('close', () => sockets.delete(sock));
    });
    try {
      await listenTcp(tcp, port);
    } catch {
      udp.close();
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      const reply = handle(msg, 'udp');
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    udp.on('error', () => {});
    fake.port = port;
    fake.close = async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
      await new Promise((r) => udp.close(r));
    };
    return fake;
  }
  throw new Error(`fake upstream (${role}): no port free for both UDP and TCP`);
}
