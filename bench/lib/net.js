// Loopback ports and HTTP reads (bench/upstream.js's query count, ballast's /metrics).
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { bindPair } from '../../dist/server/pair.js';
import { HOST } from './env.js';

/**
 * A port free for both TCP and UDP on 127.0.0.1 right now: ballast's own port-0 pairing (src/server/pair.ts) binds
 * both, then lets them go. Another process can still take it before the caller binds it; the scripts start their
 * servers right after asking.
 */
export async function freePort() {
  const { udp, tcp, port } = await bindPair(
    0,
    (p) =>
      new Promise((resolve, reject) => {
        const u = dgram.createSocket('udp4');
        u.once('error', reject);
        u.bind(p, HOST, () => resolve({ port: u.address().port, close: () => new Promise((r) => u.close(r)) }));
      }),
    (p) =>
      new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen({ port: p, host: HOST, exclusive: true }, () => resolve(s));
      }),
  );
  await udp.close();
  await new Promise((r) => tcp.close(r));
  return port;
}

/** GET http://127.0.0.1:PORT/PATH; resolves { status, body }. */
export function httpGet(port, urlPath, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} on port ${port}: timeout`)));
    req.on('error', reject);
  });
}

export async function httpGetJson(port, urlPath) {
  const { status, body } = await httpGet(port, urlPath);
  if (status !== 200) throw new Error(`GET ${urlPath} on port ${port}: HTTP ${status}`);
  return JSON.parse(body);
}

/** One value of a Prometheus text exposition (`name` may carry an escaped label set); NaN when absent. */
export function metricValue(text, name) {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}
