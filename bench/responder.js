// Baseline for the benchmark: the fastest reasonable Node.js DNS server.
//
// It answers every UDP datagram with ONE pre-built response (name0.bench.test A 10.0.0.0, TTL 3600), copying only
// the query's 2-byte ID into (a pooled copy of) it. There is no parsing and no cache lookup, so it is about the
// ceiling a Node.js DNS server can reach on this machine.
// (dnsperf matches responses to queries by ID only, so one canned answer serves every name of the query file.)
//
// Usage: node bench/responder.js [--port N]   (binds 127.0.0.1, 0 or omitted = any free port)
// Prints one JSON line on stdout once bound: {"port":N}

import dgram from 'node:dgram';
import { parseOptionsOrExit } from './lib/options.js';

const opts = parseOptionsOrExit(import.meta.url, { port: { type: 'int', min: 0, max: 65535, default: 0 } });

const NAME = 'name0.bench.test';

function encodeName(name) {
  const parts = [];
  for (const label of name.split('.')) {
    const bytes = Buffer.from(label, 'ascii');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function buildResponse(name) {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0, 0); // ID, overwritten per query
  header.writeUInt16BE(0x8180, 2); // QR=1, OPCODE=0, RD=1, RA=1, RCODE=NOERROR
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 6); // ANCOUNT
  header.writeUInt16BE(0, 8); // NSCOUNT
  header.writeUInt16BE(0, 10); // ARCOUNT
  const question = Buffer.concat([encodeName(name), Buffer.from([0, 1, 0, 1])]); // QTYPE A, QCLASS IN
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // pointer to the question name
  answer.writeUInt16BE(1, 2); // TYPE A
  answer.writeUInt16BE(1, 4); // CLASS IN
  answer.writeUInt32BE(3600, 6); // TTL
  answer.writeUInt16BE(4, 10); // RDLENGTH
  answer.set([10, 0, 0, 0], 12); // RDATA
  return Buffer.concat([header, question, answer]);
}

const response = buildResponse(NAME);
const socket = dgram.createSocket('udp4');

socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  // send() may fall back to an asynchronous send (on EAGAIN) that still references the buffer, so patching the one
  // template in place could corrupt a queued reply. A pooled 50-byte copy costs far less than the syscall.
  const out = Buffer.allocUnsafe(response.length);
  response.copy(out);
  out[0] = msg[0];
  out[1] = msg[1];
  socket.send(out, rinfo.port, rinfo.address);
});

socket.on('error', (err) => {
  process.stderr.write(`responder: ${err.stack ?? err}\n`);
  process.exit(1);
});

socket.bind(opts.port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    socket.close();
    process.exit(0);
  });
}
