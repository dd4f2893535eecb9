// Fake authoritative upstream for the benchmark (a fixture, not part of ballast).
//
// Answers `nameN.bench.test A` (any letter case) with 10.x.y.z where N = x*65536 + y*256 + z (N taken mod 2^24),
// TTL 3600. Names of the realistic mix (bench/lib/mix.js: nameN.ns-K.svc.bench.test) get the mix's answers: A
// (one or four addresses), AAAA, SRV with an additional A, TXT of about 1 KB. Any other name under bench.test, or a name outside it, gets NXDOMAIN; nameN with another QTYPE gets
// NOERROR with no answer (NODATA). The reply echoes the ID, the opcode and RD bit (QR=1, AA=1, RA=1), the question
// exactly as sent, and an OPT record (UDP size 1232, DO bit copied) if the query carried one. Malformed queries get
// FORMERR when a header can be read, otherwise they are dropped; opcodes other than QUERY get NOTIMP.
//
// Serves UDP and TCP (2-byte length framing, several queries per connection) on 127.0.0.1, same port for both.
// Counts every query it answers and exposes the count over HTTP on 127.0.0.1:
//   GET /count -> {"queries":N,"udp":N,"tcp":N}
//
// Usage: node bench/upstream.js [--port N] [--http-port N]   (0 or omitted = any free port)
// Prints one JSON line on stdout once listening: {"port":N,"httpPort":M}

import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { addressCount, MIX_SUFFIX, TXT_STRING_LENGTH, TXT_STRINGS } from './lib/mix.js';
import { parseOptionsOrExit } from './lib/options.js';

const opts = parseOptionsOrExit(import.meta.url, {
  port: { type: 'int', min: 0, max: 65535, default: 0 },
  httpPort: { type: 'int', min: 0, max: 65535, default: 0 },
});

const HOST = '127.0.0.1';
const TTL = 3600;
const EDNS_UDP_SIZE = 1232;
const NAME_RE = /^name(\d+)\.bench\.test$/;
const MIX_RE = new RegExp(`^name(\\d+)\\.ns-\\d+\\.${MIX_SUFFIX.replaceAll('.', '\\.')}$`);
const TYPE = { A: 1, AAAA: 28, SRV: 33, TXT: 16 };

/** One resource record whose owner is the question name (a compression pointer to offset 12). */
function record(type, rdata) {
  const rr = Buffer.alloc(12 + rdata.length);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(1, 4); // CLASS IN
  rr.writeUInt32BE(TTL, 6);
  rr.writeUInt16BE(rdata.length, 10);
  rdata.copy(rr, 12);
  return rr;
}

const ipv4 = (n) => Buffer.from([10, (n >> 16) & 255, (n >> 8) & 255, n & 255]);

/** The realistic mix's answer and additional records for mix name N and `qtype` (bench/lib/mix.js). */
function mixRecords(n, qtype) {
  if (qtype === TYPE.A) {
    return { answers: Array.from({ length: addressCount(n) }, (_, k) => record(TYPE.A, ipv4(n + k))), extra: [] };
  }
  if (qtype === TYPE.AAAA) {
    const v6 = Buffer.alloc(16);
    v6.writeUInt16BE(0xfd00, 0);
    v6.writeUInt32BE(n, 12);
    return { answers: [record(TYPE.AAAA, v6)], extra: [] };
  }
  if (qtype === TYPE.SRV) {
    // priority 0, weight 100, port 8080, target: the question name itself.
    const srv = Buffer.from([0, 0, 0, 100, 0x1f, 0x90, 0xc0, 12]);
    return { answers: [record(TYPE.SRV, srv)], extra: [record(TYPE.A, ipv4(n))] };
  }
  if (qtype === TYPE.TXT) {
    const strings = Array.from({ length: TXT_STRINGS }, (_, k) =>
      Buffer.concat([Buffer.from([TXT_STRING_LENGTH]), Buffer.alloc(TXT_STRING_LENGTH, 0x61 + k)]),
    );
    return { answers: [record(TYPE.TXT, Buffer.concat(strings))], extra: [] };
  }
  return { answers: [], extra: [] };
}

const counts = { udp: 0, tcp: 0 };

// Reads the question name starting at `off` (uncompressed, as every stub sends it).
// Returns { name, end } where `end` is the offset just past the name, or null if malformed.
function readName(msg, off) {
  const labels = [];
  let len = 0;
  while (off < msg.length) {
    const n = msg[off];
    if (n === 0) return { name: labels.join('.'), end: off + 1 };
    if (n > 63) return null; // compression pointers are not valid in a query's question
    len += n + 1;
    if (len > 255 || off + 1 + n > msg.length) return null;
    labels.push(msg.toString('latin1', off + 1, off + 1 + n));
    off += 1 + n;
  }
  return null;
}

// Skips one resource record at `off`; returns the offset past it or -1.
function skipRecord(msg, off) {
  while (off < msg.length) {
    const n = msg[off];
    if (n === 0) {
      off += 1;
      break;
    }
    if ((n & 0xc0) === 0xc0) {
      off += 2;
      break;
    }
    if (n > 63) return -1;
    off += 1 + n;
  }
  if (off + 10 > msg.length) return -1;
  const rdlen = msg.readUInt16BE(off + 8);
  off += 10 + rdlen;
  return off > msg.length ? -1 : off;
}

// Finds the OPT record in the additional section; returns { doBit } or null.
function findOpt(msg, off, an, ns, ar) {
  for (let i = 0; i < an + ns; i++) {
    off = skipRecord(msg, off);
    if (off < 0) return null;
  }
  for (let i = 0; i < ar; i++) {
    if (msg[off] === 0 && off + 11 <= msg.length && msg.readUInt16BE(off + 1) === 41) {
      return { doBit: (msg.readUInt32BE(off + 5) & 0x8000) !== 0 };
    }
    off = skipRecord(msg, off);
    if (off < 0) return null;
  }
  return null;
}

function header(id, flags, qd, an, ar) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(0, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

// Builds the reply for one query message; returns a Buffer or null (drop).
function answer(msg) {
  if (msg.length < 12) return null;
  const id = msg.readUInt16BE(0);
  const qflags = msg.readUInt16BE(2);
  if (qflags & 0x8000) return null; // a response, not a query
  const opcode = (qflags >> 11) & 0xf;
  const rd = qflags & 0x0100;
  const base = 0x8000 | (opcode << 11) | 0x0400 | rd | 0x0080; // QR, opcode, AA, RD copied, RA
  const qd = msg.readUInt16BE(4);
  const q = qd === 1 ? readName(msg, 12) : null;
  if (opcode !== 0) return header(id, base | 4, 0, 0, 0); // NOTIMP
  if (!q || q.end + 4 > msg.length) return header(id, base | 1, 0, 0, 0); // FORMERR
  const question = msg.subarray(12, q.end + 4);
  const qtype = msg.readUInt16BE(q.end);
  const qclass = msg.readUInt16BE(q.end + 2);
  const opt = findOpt(msg, q.end + 4, msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10));

  const lower = q.name.toLowerCase();
  const m = NAME_RE.exec(lower);
  const mix = m ? null : MIX_RE.exec(lower);
  let rcode = 0;
  let answers = [];
  let extra = [];
  if (mix && qclass === 1) {
    ({ answers, extra } = mixRecords(Number(BigInt(mix[1]) % 16777216n), qtype));
  } else if (!m && !mix) {
    rcode = 3; // NXDOMAIN
  } else if (m && qtype === 1 && qclass === 1) {
    answers = [record(TYPE.A, ipv4(Number(BigInt(m[1]) % 16777216n)))];
  }
  const parts = [header(id, base | rcode, 1, answers.length, extra.length + (opt ? 1 : 0)), question];
  parts.push(...answers, ...extra);
  if (opt) {
    const o = Buffer.alloc(11);
    o[0] = 0; // root name
    o.writeUInt16BE(41, 1); // TYPE OPT
    o.writeUInt16BE(EDNS_UDP_SIZE, 3); // CLASS = UDP payload size
    o.writeUInt32BE(opt.doBit ? 0x8000 : 0, 5); // extended RCODE 0, version 0, DO copied
    o.writeUInt16BE(0, 9); // RDLENGTH
    parts.push(o);
  }
  return Buffer.concat(parts);
}

function listenUdpTcp(port) {
  return new Promise((resolve, reject) => {
    const udp = dgram.createSocket('udp4');
    udp.once('error', reject);
    udp.bind(port, HOST, () => {
      const bound = udp.address().port;
      const tcp = net.createServer();
      tcp.once('error', (err) => {
        udp.close();
        reject(err);
      });
      tcp.listen(bound, HOST, () => resolve({ udp, tcp, port: bound }));
    });
  });
}

async function main() {
  const wanted = opts.port;
  const httpWanted = opts.httpPort;
  let servers;
  // With port 0 the TCP bind on the UDP's port can collide with something else; try a few ports.
  for (let attempt = 0; ; attempt++) {
    try {
      servers = await listenUdpTcp(wanted);
      break;
    } catch (err) {
      if (wanted !== 0 || attempt >= 20 || err.code !== 'EADDRINUSE') throw err;
    }
  }
  const { udp, tcp, port } = servers;

  udp.on('message', (msg, rinfo) => {
    const out = answer(msg);
    if (!out) return;
    counts.udp++;
    udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', (err) => process.stderr.write(`upstream udp: ${err.message}\n`));

  tcp.on('connection', (sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const out = answer(msg);
        if (!out) {
          sock.destroy();
          return;
        }
        counts.tcp++;
        const framed = Buffer.alloc(2 + out.length);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        sock.write(framed);
      }
    });
    sock.on('error', () => {});
    sock.setTimeout(30_000, () => sock.destroy());
  });

  const web = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/count') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ queries: counts.udp + counts.tcp, udp: counts.udp, tcp: counts.tcp }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    web.once('error', reject);
    web.listen(httpWanted, HOST, resolve);
  });

  process.stdout.write(`${JSON.stringify({ port, httpPort: web.address().port })}\n`);

  const stop = () => {
    udp.close();
    tcp.close();
    web.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`upstream: ${err.stack ?? err}\n`);
  process.exit(1);
});
