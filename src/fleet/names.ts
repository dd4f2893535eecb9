// The names a fleet's pods look up, what the cluster's DNS says about each, and their DNS bytes. Every name the
// simulation ever asks is an object of this table, found by its wire form, so CoreDNS, the node's resolver, ballast's
// transport and the pods all agree on what a name is (docs/fleet.md, "Pods").

import { encodeName } from '../wire/index.js';
import type { Params } from './model.js';

const A = 1;
const SOA = 6;
const AAAA = 28;
export const QTYPE = { A, SOA, AAAA };
export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

/** Where a name is answered: the cluster zone (CoreDNS) or anything else (the node's own resolver). */
export const CLUSTER_ZONE = 'cluster.local';

/**
 * One name: its text, wire form and cache-key form (the wire form as latin1, as ballast keys it), which server
 * answers it, and the answer (`ttl` of its A record when it exists, else a negative answer with `negTtl`).
 */
export interface NameInfo {
  readonly cluster: boolean;
  readonly exists: boolean;
  readonly ttl: number;
  readonly negTtl: number;
  readonly apex: string;
}

export class Name {
  readonly wire: Buffer;
  readonly key: string;
  readonly cluster: boolean;
  readonly exists: boolean;
  readonly ttl: number;
  readonly negTtl: number;
  /** The zone apex (for the SOA owner), as a suffix of the name in bytes. */
  readonly apexLength: number;
  readonly isApex: boolean;
  /** Client queries with EDNS (so a stale answer shows its EDE), built once and shared: ballast never writes them. */
  readonly queries: Record<number, Buffer>;

  constructor(
    readonly text: string,
    { cluster, exists, ttl, negTtl, apex }: NameInfo,
  ) {
    this.wire = encodeName(text);
    this.key = this.wire.toString('latin1');
    this.cluster = cluster;
    this.exists = exists;
    this.ttl = ttl;
    this.negTtl = negTtl;
    this.apexLength = encodeName(apex).length;
    this.isApex = text === apex;
    this.queries = { [A]: clientQuery(this.wire, A), [AAAA]: clientQuery(this.wire, AAAA) };
  }
}

/** A client query: ID 0, RD, one question, an OPT record (payload 1232, DNS Flag Day 2020). */
function clientQuery(wire: Buffer, qtype: number): Buffer {
  const out = Buffer.alloc(12 + wire.length + 4 + 11);
  out.writeUInt16BE(0x0100, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  wire.copy(out, 12);
  out.writeUInt16BE(qtype, 12 + wire.length);
  out.writeUInt16BE(1, 14 + wire.length);
  const opt = 16 + wire.length;
  out.writeUInt16BE(41, opt + 1);
  out.writeUInt16BE(1232, opt + 3);
  return out;
}

/** The table of names, created on first use. */
/** What a pod looks up: a Service (by index) or an external name. */
export type NameKind = 'service' | 'external';

export class Names {
  private readonly byKeyMap = new Map<string, Name>();
  private readonly lists = new Map<string, Name[]>();

  constructor(private readonly p: Params) {
    const params = p;
    const ttl = params.clusterTtl;
    // The zone apexes, whose SOA ballast's health probes ask before any name of a zone has been answered.
    this.intern(CLUSTER_ZONE, { cluster: true, exists: true, ttl, negTtl: ttl, apex: CLUSTER_ZONE });
    this.intern('.', { cluster: false, exists: true, ttl: 86400, negTtl: params.nodeNegativeTtl, apex: '.' });
  }

  intern(text: string, info: NameInfo): Name {
    const key = encodeName(text).toString('latin1');
    let n = this.byKeyMap.get(key);
    if (n === undefined) {
      n = new Name(text, info);
      this.byKeyMap.set(key, n);
    }
    return n;
  }

  byKey(key: string): Name | undefined {
    return this.byKeyMap.get(key);
  }

  service(i: number): { name: string; ns: number } {
    return { name: `svc-${i}`, ns: i % this.p.namespaces };
  }

  /**
   * The names glibc tries for what a pod in namespace `podNs` typed, in order. Every name here has fewer dots than
   * ndots:5, so the pod's search list (its namespace's, the cluster's, the node's domain) comes before the name as
   * typed. A service in the pod's own namespace is typed by its short name, one elsewhere as `svc.ns`; the walk stops
   * at the first answer, so the names after it are only asked when the earlier ones fail.
   */
  candidates(kind: NameKind, index: number, podNs: number): Name[] {
    const key = `${kind}|${index}|${podNs}`;
    let list = this.lists.get(key);
    if (list === undefined) {
      list = this.walk(kind, index, podNs);
      this.lists.set(key, list);
    }
    return list;
  }

  private walk(kind: NameKind, index: number, podNs: number): Name[] {
    const { clusterTtl, nodeDomain, nodeNegativeTtl } = this.p;
    const cluster = (text: string, exists: boolean) =>
      this.intern(text, { cluster: true, exists, ttl: clusterTtl, negTtl: clusterTtl, apex: CLUSTER_ZONE });
    const outside = (text: string, exists: boolean, apex: string, ttl = 0) =>
      this.intern(text, { cluster: false, exists, ttl, negTtl: nodeNegativeTtl, apex });
    let typed: string;
    let service: string | undefined;
    const domain = `example${index % 97}.com`;
    if (kind === 'service') {
      const { name, ns } = this.service(index);
      typed = ns === podNs ? name : `${name}.ns-${ns}`;
      service = `${name}.ns-${ns}.svc.${CLUSTER_ZONE}`;
    } else {
      typed = `ext-${index}.${domain}`;
    }
    const list = [`ns-${podNs}.svc.${CLUSTER_ZONE}`, `svc.${CLUSTER_ZONE}`, CLUSTER_ZONE].map((suffix) => {
      const text = `${typed}.${suffix}`;
      return cluster(text, text === service);
    });
    list.push(outside(`${typed}.${nodeDomain}`, false, nodeDomain));
    if (kind === 'service') list.push(outside(typed, false, '.'));
    else list.push(outside(typed, true, domain, externalTtl(index, this.p.externalTtl)));
    return list;
  }
}

/** An external name's TTL, fixed per name, spread over [min, max] by a hash of its index (no random draw needed). */
function externalTtl(index: number, [min, max]: [number, number]): number {
  const h = Math.imul(index + 1, 0x9e3779b1) >>> 0;
  return min + (h % (max - min + 1));
}

/**
 * The server's response to `query` (the bytes ballast sent, ID already written) for `name`: an A record with a
 * compression pointer to the question; a NODATA or NXDOMAIN with the zone's SOA in authority (RFC 2308); the zone's
 * SOA for a query of the apex; or a header-only SERVFAIL/REFUSED. No OPT record: ballast drops the upstream's anyway.
 */
export function encodeAnswer(query: Buffer, questionEnd: number, name: Name, qtype: number, rcode: number): Buffer {
  const qlen = questionEnd - 12;
  let body = 0;
  let answer = false;
  let soa = false;
  if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) {
    if (rcode === RCODE.NOERROR && qtype === A && name.exists && !name.isApex) answer = true;
    else soa = true;
    body = answer ? 16 : 12 + 24;
  }
  const out = Buffer.allocUnsafe(12 + qlen + body);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  const aa = name.cluster && body > 0 ? 0x0400 : 0; // CoreDNS is authoritative for what it answers of its zone
  out.writeUInt16BE(0x8000 | 0x0100 | 0x0080 | aa | rcode, 2);
  out.writeUInt16BE(1, 4);
  const apexSoa = soa && name.isApex && qtype === SOA;
  out.writeUInt16BE(answer || apexSoa ? 1 : 0, 6);
  out.writeUInt16BE(soa && !apexSoa ? 1 : 0, 8);
  out.writeUInt16BE(0, 10);
  query.copy(out, 12, 12, questionEnd);
  let p = questionEnd;
  if (answer) {
    p = writeRecordHead(out, p, 12, A, name.ttl, 4);
    out.writeUInt32BE(0x0a600000 + (hash(name.key) & 0xffff), p);
  } else if (soa) {
    // The SOA owner is the zone apex: a pointer into the question name, where its last labels are.
    const apexAt = questionEnd - 4 - name.apexLength;
    const ttl = name.isApex ? name.ttl : name.negTtl;
    p = writeRecordHead(out, p, apexAt, SOA, ttl, 24);
    out.writeUInt16BE(0xc000 | apexAt, p); // MNAME and RNAME: the apex again, by pointer
    out.writeUInt16BE(0xc000 | apexAt, p + 2);
    out.writeUInt32BE(1, p + 4); // serial
    out.writeUInt32BE(7200, p + 8); // refresh
    out.writeUInt32BE(1800, p + 12); // retry
    out.writeUInt32BE(86400, p + 16); // expire
    out.writeUInt32BE(ttl, p + 20); // minimum: the negative TTL (RFC 2308 §4)
  }
  return out;
}

function writeRecordHead(out: Buffer, p: number, ownerAt: number, type: number, ttl: number, rdlength: number): number {
  out.writeUInt16BE(0xc000 | ownerAt, p);
  out.writeUInt16BE(type, p + 2);
  out.writeUInt16BE(1, p + 4);
  out.writeUInt32BE(ttl, p + 6);
  out.writeUInt16BE(rdlength, p + 10);
  return p + 12;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** What a pod makes of a reply: the outcome, and whether ballast marked it stale (EDE 3 or 19, RFC 8914). */
export const OUTCOME = { ANSWER: 0, NODATA: 1, NXDOMAIN: 2, SERVFAIL: 3, REFUSED: 4, OTHER: 5 };

export function outcomeOf(rcode: number, ancount: number): number {
  if (rcode === RCODE.NOERROR) return ancount > 0 ? OUTCOME.ANSWER : OUTCOME.NODATA;
  if (rcode === RCODE.NXDOMAIN) return OUTCOME.NXDOMAIN;
  if (rcode === RCODE.SERVFAIL) return OUTCOME.SERVFAIL;
  if (rcode === RCODE.REFUSED) return OUTCOME.REFUSED;
  return OUTCOME.OTHER;
}

/** Reads a reply's bytes into outcome | (stale ? 8 : 0). ballast appends its OPT last, the EDE last in it. */
export function decodeReply(buf: Buffer): number {
  const outcome = outcomeOf(buf[3] & 0x0f, buf.readUInt16BE(6));
  return outcome | (staleEde(buf) ? 8 : 0);
}

/**
 * Whether the reply ends in an OPT whose only option is EDE 3 or 19 (a stale answer), with or without EXTRA-TEXT (a
 * last known good answer says why). The OPT is the last record ballast writes: its RDLENGTH is the option's length
 * plus 4, and the option starts right after it.
 */
function staleEde(buf: Buffer): boolean {
  const n = buf.length;
  for (let text = 0; text <= 64 && 12 + 11 + 6 + text <= n; text++) {
    const at = n - 6 - text;
    if (buf.readUInt16BE(at) !== 15 || buf.readUInt16BE(at + 2) !== 2 + text) continue;
    if (buf.readUInt16BE(at - 2) !== 6 + text) continue;
    const code = buf.readUInt16BE(at + 4);
    return code === 3 || code === 19;
  }
  return false;
}
