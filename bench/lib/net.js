// Loopback ports and HTTP reads (bench/upstream.js's query count, ballast's /metrics).
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { HOST } from './env.js';

/**
 * A port free for both TCP and UDP on 127.0.0.1 right now (bind port 0, close, check UDP). Another process can
 * still take it before the caller binds it; the scripts start their servers right after asking.
 */
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
