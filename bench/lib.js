// Shared by the bench scripts: free loopback ports and a small dns2 server on UDP and TCP at one port.
import dgram from 'node:dgram';
import net from 'node:net';
import dns2 from 'dns2';

export const HOST = '127.0.0.1';

/** A port free for both TCP and UDP on 127.0.0.1 (bind port 0, close, check UDP). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, HOST, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, HOST, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** A dns2 server answering with `handle(request, send)` on UDP and TCP at one free port of 127.0.0.1. */
export async function startDnsServer(handle) {
  const port = await freePort();
  const udp = dns2.createServer({ udp: { type: 'udp4' }, handle });
  udp.on('requestError', () => {});
  await udp.listen({ udp: { port, address: HOST } });
  const tcp = dns2.createServer({ tcp: true, handle });
  tcp.on('requestError', () => {});
  await tcp.listen({ tcp: { port, address: HOST } });
  return { port, close: () => Promise.all([udp.close(), tcp.close()]) };
}
