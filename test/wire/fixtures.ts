import { readFileSync } from 'node:fs';

/**
 * Real queries and responses captured from BIND 9.18 (see the fixture README). Resolved from this file so the same
 * relative path works locally and in CI.
 */
export const FIXTURE_DIR = new URL('../fixtures/wire/', import.meta.url);

/** One case as index.json describes it. */
export interface FixtureMeta {
  readonly name: string;
  readonly qname: string;
  /** Mnemonic ("A", "HTTPS") or RFC 3597 form ("TYPE65280"). */
  readonly qtype: string;
  readonly edns_udp_size: number | null;
  readonly do: boolean;
  readonly transport: 'udp' | 'tcp';
  readonly rcode: number;
  readonly tc: boolean;
  readonly aa: boolean;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  readonly response_bytes: number;
}

export interface Fixture {
  readonly meta: FixtureMeta;
  readonly query: Buffer;
  readonly response: Buffer;
}

let index: FixtureMeta[] | undefined;

/** Every case in index.json, in file order. */
export function fixtureCases(): FixtureMeta[] {
  index ??= (JSON.parse(readFileSync(new URL('index.json', FIXTURE_DIR), 'utf8')) as { cases: FixtureMeta[] }).cases;
  return index;
}

/** A fresh copy of a case's bytes each call, so a test may patch them freely. */
export function fixture(name: string): Fixture {
  const meta = fixtureCases().find((c) => c.name === name);
  if (meta === undefined) throw new Error(`no wire fixture named ${name}`);
  return {
    meta,
    query: readFileSync(new URL(`${name}.query.bin`, FIXTURE_DIR)),
    response: readFileSync(new URL(`${name}.response.bin`, FIXTURE_DIR)),
  };
}

const QTYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNSKEY: 48,
  HTTPS: 65,
  ANY: 255,
  CAA: 257,
};

/** The numeric qtype of an index.json mnemonic. */
export function qtypeNumber(mnemonic: string): number {
  const generic = /^TYPE(\d+)$/.exec(mnemonic);
  if (generic) return Number(generic[1]);
  const n = QTYPES[mnemonic];
  if (n === undefined) throw new Error(`unknown qtype mnemonic ${mnemonic}`);
  return n;
}

/** Wire form of a presentation name, case kept (unlike encodeName, which is under test). */
export function wireName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

/** What each response holds, read from the bytes with an independent decoder (not ballast's), per case. */
export interface ResponseFacts {
  /** Offset just past the question section. */
  readonly questionEnd: number;
  /** Every record except OPT, in message order: [offset of its TTL field, type, TTL]. */
  readonly records: readonly (readonly [number, number, number])[];
  /** [start, end) of the OPT record, or null. */
  readonly opt: readonly [number, number] | null;
  /** TTL and MINIMUM of the authority-section SOA, or null. */
  readonly soa: { readonly ttl: number; readonly minimum: number } | null;
}

export const RESPONSE_FACTS: Record<string, ResponseFacts> = {
  'a-basic': {
    questionEnd: 46,
    records: [[52, 1, 5]],
    opt: null,
    soa: null,
  },
  'aaaa-basic': {
    questionEnd: 46,
    records: [[52, 28, 5]],
    opt: [74, 85],
    soa: null,
  },
  srv: {
    questionEnd: 57,
    records: [[63, 33, 5]],
    opt: [105, 116],
    soa: null,
  },
  txt: {
    questionEnd: 46,
    records: [[52, 16, 5]],
    opt: [69, 80],
    soa: null,
  },
  'nxdomain-soa': {
    questionEnd: 45,
    records: [[64, 6, 5]],
    opt: [125, 136],
    soa: { ttl: 5, minimum: 5 },
  },
  'nodata-soa': {
    questionEnd: 46,
    records: [[65, 6, 5]],
    opt: [126, 137],
    soa: { ttl: 5, minimum: 5 },
  },
  mx: {
    questionEnd: 30,
    records: [[36, 15, 300]],
    opt: [51, 62],
    soa: null,
  },
  caa: {
    questionEnd: 30,
    records: [[36, 257, 300]],
    opt: [64, 75],
    soa: null,
  },
  'https-svcb': {
    questionEnd: 35,
    records: [[41, 65, 300]],
    opt: [60, 71],
    soa: null,
  },
  'unknown-type': {
    questionEnd: 34,
    records: [[40, 65280, 300]],
    opt: [52, 63],
    soa: null,
  },
  'cname-chain': {
    questionEnd: 36,
    records: [
      [42, 5, 300],
      [60, 1, 300],
    ],
    opt: [70, 81],
    soa: null,
  },
  'dnssec-a-do': {
    questionEnd: 34,
    records: [
      [40, 1, 300],
      [56, 46, 300],
    ],
    opt: [158, 169],
    soa: null,
  },
  'dnssec-dnskey-do': {
    questionEnd: 30,
    records: [
      [36, 48, 300],
      [116, 48, 300],
      [196, 46, 300],
      [304, 46, 300],
    ],
    opt: [406, 417],
    soa: null,
  },
  'dnssec-nxdomain-nsec-do': {
    questionEnd: 35,
    records: [
      [41, 6, 60],
      [91, 46, 60],
      [199, 47, 60],
      [243, 46, 60],
      [356, 47, 60],
      [393, 46, 60],
    ],
    opt: [495, 506],
    soa: { ttl: 60, minimum: 60 },
  },
  'big-txt-noedns-tc': {
    questionEnd: 34,
    records: [],
    opt: null,
    soa: null,
  },
  'big-txt-tcp': {
    questionEnd: 34,
    records: [[40, 16, 300]],
    opt: null,
    soa: null,
  },
  'big-txt-edns4096-server-caps-at-1232-tc': {
    questionEnd: 34,
    records: [],
    opt: [34, 45],
    soa: null,
  },
  soa: {
    questionEnd: 31,
    records: [[37, 6, 5]],
    opt: [98, 109],
    soa: null,
  },
  'ns-with-glue': {
    questionEnd: 31,
    records: [
      [37, 2, 5],
      [71, 1, 5],
    ],
    opt: [81, 92],
    soa: null,
  },
  'any-rfc8482': {
    questionEnd: 30,
    records: [
      [36, 6, 300],
      [86, 46, 300],
      [194, 2, 300],
      [208, 46, 300],
      [316, 15, 300],
      [337, 46, 300],
      [445, 47, 60],
      [489, 46, 60],
      [597, 48, 300],
      [677, 48, 300],
      [757, 46, 300],
      [865, 46, 300],
      [973, 257, 300],
      [1007, 46, 300],
    ],
    opt: [1109, 1120],
    soa: null,
  },
  'mixed-case-0x20': {
    questionEnd: 46,
    records: [[80, 1, 5]],
    opt: [90, 101],
    soa: null,
  },
  'refused-out-of-zone': {
    questionEnd: 29,
    records: [],
    opt: [29, 40],
    soa: null,
  },
};
