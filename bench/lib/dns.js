// A minimal DNS client over UDP, for readiness and correctness spot checks; the measured load is all dnsperf or
// the scripts' own generators.
import { udpExchange } from '../../test/helpers/exchange.ts';
import { HOST, sleep } from './env.js';

export function encodeQuery(id, name, type = 1) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 255, 0, 1])]);
}

function skipName(msg, off) {
  while (off < msg.length) {
    const n = msg[off];
    if (n === 0) return off + 1;
    if ((n & 0xc0) === 0xc0) return off + 2;
    off += 1 + n;
  }
  return -1;
}

/** Sends one A query to 127.0.0.1:PORT; resolves { rcode, addresses }, or null on timeout or a socket error. */
export async function queryA(port, name, timeoutMs = 1000) {
  const id = Math.floor(Math.random() * 65536);
  const msg = await udpExchange(port, encodeQuery(id, name), timeoutMs, HOST).catch(() => null);
  if (msg === null || msg.length < 12) return null;
  const rcode = msg.readUInt16BE(2) & 0xf;
  const ancount = msg.readUInt16BE(6);
  const addresses = [];
  let off = 12;
  for (let i = 0; i < msg.readUInt16BE(4) && off >= 0; i++) off = skipName(msg, off) + 4;
  for (let i = 0; i < ancount && off >= 0 && off < msg.length; i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) break;
    const type = msg.readUInt16BE(off);
    const rdlen = msg.readUInt16BE(off + 8);
    if (type === 1 && rdlen === 4) addresses.push([...msg.subarray(off + 10, off + 14)].join('.'));
    off += 10 + rdlen;
  }
  return { rcode, addresses };
}

/** Waits until the child's DNS port answers any query (any RCODE), or throws once it exited or `timeoutMs` passed. */
export async function waitForDns(child, port, { name = 'name0.bench.test', timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`${child.benchName} exited early (${JSON.stringify(child.exitInfo)})`);
    if (await queryA(port, name, 250)) return;
    await sleep(100);
  }
  throw new Error(`${child.benchName} did not answer DNS on ${HOST}:${port} within ${timeoutMs / 1000}s`);
}

/** nameN.bench.test's address from bench/upstream.js: 10.x.y.z with N = x·65536 + y·256 + z. */
export const benchAddress = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
