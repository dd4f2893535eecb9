// Test clients. Queries are encoded and answers decoded by dns2 (an independent codec); the sockets are plain
// node:dgram / node:net (udpExchange, tcpExchange) so tests see the exact bytes ballast sends.
import dns2 from 'dns2';
import { tcpExchange, udpBulk, udpExchange } from './exchange.js';

const { Packet } = dns2;

// The exchanges live in exchange.ts (the bench scripts use them too).
export { Packet, tcpExchange, udpBulk, udpExchange };

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

export async function tcpQuery(port: number, name: string, type: number, opts: QueryOptions = {}, host = '127.0.0.1') {
  const msg = buildQuery(name, type, opts);
  const [raw] = await tcpExchange(port, [msg], 1, host);
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
