/**
 * What the fuzz tests hold every reply of ballast's to, shared by the in-process and the socket campaigns: a strictly
 * well-formed message with the client's ID and question bytes, an OPT exactly when the query had one, within the
 * client's size over UDP, and carrying only records that an upstream sent for that very cache key (so nothing forged,
 * out of bailiwick or meant for another question can reach a client).
 */
import { cacheKey, HEADER_SIZE, lowerName, type Query } from '../../src/wire/index.js';
import { encode, nameFrom, optRecord } from './model.js';
import { must, same } from './params.js';
import { type StrictMessage, strictDecode, tryStrictDecode } from './strict.js';

/** The labels of the uncompressed name at offset 12. */
export function labelsAt(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = HEADER_SIZE; raw[p] !== 0; p += raw[p] + 1) out.push(raw.subarray(p + 1, p + 1 + raw[p]));
  return out;
}

/** Offset past the question of one of ballast's own upstream queries. */
export function questionEndOf(query: Buffer): number {
  let p = HEADER_SIZE;
  while (query[p] !== 0) p += query[p] + 1;
  return p + 5;
}

/** The cache key an upstream query of ballast's is for: its question, DO from its OPT, CD from its header. */
export function upstreamKey(query: Buffer): string {
  const end = questionEndOf(query);
  const dnssecOk = (query[end + 7] & 0x80) !== 0;
  const cd = (query[3] & 0x10) !== 0;
  return cacheKey(
    lowerName(query, HEADER_SIZE, end - 4),
    query.readUInt16BE(end - 4),
    query.readUInt16BE(end - 2),
    dnssecOk,
    cd,
  );
}

/** What a real server would answer to one of ballast's queries: NXDOMAIN with an SOA, and an OPT. */
export function genuineAnswer(query: Buffer): Buffer {
  const end = questionEndOf(query);
  const soa = {
    section: 1 as const,
    owner: [],
    type: 6,
    klass: 1,
    ttl: 60,
    rdata: { kind: 'soa' as const, mname: nameFrom('a.root'), rname: nameFrom('b.root'), tail: Buffer.alloc(20, 1) },
  };
  const question = [{ name: labelsAt(query), type: query.readUInt16BE(end - 4), klass: query.readUInt16BE(end - 2) }];
  return encode({ id: query.readUInt16BE(0), flags: 0x8183, question, records: [soa, optRecord(1232)] }).bytes;
}

const signature = (m: StrictMessage, n: number) =>
  m.records
    .slice(0, n)
    .map((r) => `${r.section} ${r.owner} ${r.type} ${r.klass} ${r.rdata}`)
    .join('\n');

/**
 * Whether the answer section of `m` answers its question, written again from RFC 1034 §4.3.2 and RFC 6672 (the
 * product's version is src/wire/answer.ts): records of the qname or of a name its CNAME chain leads to, of the
 * question's type, a CNAME or a signature, in its class; a DNAME or a signature may be owned by an ancestor.
 */
export function answersQuestion(m: StrictMessage): boolean {
  const q = m.question[0];
  const answers = m.records.filter((r) => r.section === 'answer');
  const chain = new Set([q.name]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of answers) {
      if (r.type === 5 && chain.has(r.owner) && !chain.has(r.rdata)) grew = chain.add(r.rdata) !== undefined;
    }
  }
  const above = (o: string) => [...chain].some((n) => o === '.' || n.endsWith(`.${o}`));
  return answers.every(
    (r) =>
      (q.klass === 255 || q.klass === 254 || r.klass === q.klass) &&
      ((q.type >= 128 && q.type <= 255) || [q.type, 5, 39, 46].includes(r.type)) &&
      (chain.has(r.owner) || ([39, 46].includes(r.type) && above(r.owner))),
  );
}

/** Every answer an upstream sent, by the cache key of the query it answered. */
export class SentAnswers {
  private readonly byKey = new Map<string, StrictMessage[]>();

  /**
   * Remembers `message`, sent in answer to ballast's upstream `query`, if it is one: readable (the upstream's OPT
   * aside), with the query's ID and question (name compared case-insensitively), and an answer section that answers
   * it. A forgery that fails these is not recorded, so its records reaching a client fails the oracle.
   */
  record(query: Buffer, message: Buffer): void {
    const m = tryStrictDecode(message, { ednsOptions: false });
    const asked = strictDecode(query);
    if (m === undefined || m.id !== asked.id || m.question.length !== 1 || !answersQuestion(m)) return;
    const [a, b] = [m.question[0], asked.question[0]];
    if (a.name !== b.name || a.type !== b.type || a.klass !== b.klass) return;
    const key = upstreamKey(query);
    const list = this.byKey.get(key) ?? [];
    if (list.length >= 64) list.shift();
    list.push(m);
    this.byKey.set(key, list);
  }

  /**
   * Whether the records of `reply` are those of a message sent for `key`, in order — or its first records, when the
   * rest were additional records after a mid-message OPT (src/wire/stored.ts cuts those when it cannot move them).
   */
  carries(key: string, reply: StrictMessage): boolean {
    const n = reply.records.length;
    if (n === 0) return true;
    const mine = signature(reply, n);
    return (this.byKey.get(key) ?? []).some(
      (a) =>
        a.records.length >= n &&
        signature(a, n) === mine &&
        a.records.slice(n).every((r) => r.section === 'additional'),
    );
  }
}

/** HINFO "RFC8482" "" (RFC 8482 §4.2) as the strict decoder shows it. */
const RFC8482_HINFO = `13 07${Buffer.from('RFC8482').toString('hex')}00`;

/** Holds `reply` to every rule above for the valid query `q`; returns it decoded. */
export function checkReply(
  q: Query,
  reply: Buffer,
  transport: 'udp' | 'tcp',
  sent: SentAnswers,
  serverUdpSize = 1232,
): StrictMessage {
  const m = strictDecode(reply);
  same(m.id, q.id, 'ID');
  must(m.flags & 0x8000, 'QR');
  same((m.flags >> 11) & 0xf, 0, 'opcode');
  must(reply.subarray(HEADER_SIZE, q.questionEnd).equals(q.raw.subarray(HEADER_SIZE, q.questionEnd)), 'question');
  same(m.opt !== undefined, q.edns, 'OPT iff the query had one (RFC 6891 §7)');
  if (transport === 'udp') must(reply.length <= Math.min(q.udpSize, serverUdpSize), 'UDP reply over the size limit');
  if (m.flags & 0x0200) same(m.records.length, 0, 'records in a TC=1 reply');
  if (q.qclass !== 1) {
    // Only class IN is served; every other class is refused before the cache, NONE is a format error
    // (docs/conformance.md).
    same(m.rcode, q.qclass === 254 ? 1 : 5, 'rcode for a class other than IN');
    same(m.records.length, 0, 'records for a class other than IN');
  } else if (q.qtype === 255) {
    same(m.rcode, 0, 'ANY rcode');
    same(m.records.map((r) => `${r.type} ${r.rdata}`).join(), RFC8482_HINFO, 'ANY → HINFO "RFC8482" ""');
  } else {
    // A DO=1 query that failed may get the same question's DO=0 answer, stale (docs/conformance.md).
    const plainKey = q.key.replace(/\/1(.)$/, '/0$1');
    must(
      sent.carries(q.key, m) || (q.dnssecOk && sent.carries(plainKey, m)),
      () => `records no upstream sent for ${JSON.stringify(q.qname)}`,
    );
  }
  return m;
}
