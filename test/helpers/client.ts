// Test clients. Queries are encoded and answers decoded by dns2 (an independent codec); the sockets are plain
// node:dgram / node:net so tests see the exact bytes ballast sends.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;

export { Packet };

export interface QueryOptions {
  id?: number;
  /** EDNS UDP payload size; undefined = no EDNS. */
  edns?: number;
  dnssecOk?: boolean;
  rd?: boolean;
}

/** A query message built by dns2. */
export function buildQuery(name: string, type: number, opts: QueryOptions = {}): Buffer {
  const p = new Packet();
  p.header.id = opts.id ?? Math.floor(Math.random() * 65536);
  p.header.rd = opts.rd === false ? 0 : 1;
  p.questions.push({ name, type, class: 1 } as never);
  if (opts.edns !== undefined) {
    p.additionals.push({
      name: '',
      type: Packet.TYPE.EDNS,
      class: opts.edns,
      ttl: opts.dnssecOk ? 0x8000 : 0,
      rdata: [],
    } as never);
  }
  return p.toBuffer();
}

/** Sends raw bytes over UDP and resolves with the first datagram back, or null after `waitMs`. */
export function udpExchange(port: number, msg: Buffer, waitMs = 3000, host = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, waitMs);
    s.on('message', (m) => {
      // A late datagram meant for an earlier owner of this ephemeral port is not our answer.
      if (msg.length >= 2 && (m.length < 2 || m.readUInt16BE(0) !== msg.readUInt16BE(0))) return;
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    s.send(msg, port, host);
  });
}

/** Sends framed messages on one TCP connection and collects `expect` framed answers (in arrival order). */
export function tcpExchange(port: number, msgs: Buffer[], expect = msgs.length, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp: got ${out.length} of ${expect} answers`));
    }, 5000);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= expect) {
        clearTimeout(t);
        sock.end();
        resolve(out);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    const framed = msgs.map((m) => {
      const f = Buffer.alloc(2 + m.length);
      f.writeUInt16BE(m.length, 0);
      m.copy(f, 2);
      return f;
    });
    sock.write(Buffer.concat(framed));
  });
}

/** One UDP query; the answer decoded by dns2 plus its raw bytes. */
export async function query(
  port: number,
  name: string,
  type: number,
  opts: QueryOptions = {},
  host = '127.0.0.1',
  waitMs = 3000,
) {
  const msg = buildQuery(name, type, opts);
  const raw = await udpExchange(port, msg, waitMs, host);
  if (raw === null) throw new Error(`no answer for ${name}`);
  return { raw, packet: Packet.parse(raw), sent: msg };
}

export async function tcpQuery(port: number, name: string, type: number, opts: QueryOptions = {}) {
  const msg = buildQuery(name, type, opts);
  const [raw] = await tcpExchange(port, [msg]);
  return { raw, packet: Packet.parse(raw), sent: msg };
}

/** The rcode, TC flag and ID straight from the header bytes. */
export function header(raw: Buffer) {
  const flags = raw.readUInt16BE(2);
  return {
    id: raw.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qdcount: raw.readUInt16BE(4),
    ancount: raw.readUInt16BE(6),
    nscount: raw.readUInt16BE(8),
    arcount: raw.readUInt16BE(10),
  };
}
