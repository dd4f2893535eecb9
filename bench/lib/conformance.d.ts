// Types of bench/lib/conformance.js for the TypeScript test (test/bench/conformance.test.ts).
export const TYPE: Readonly<Record<string, number>>;
export const CLASS: Readonly<Record<string, number>>;
export const EDE_OPTION: number;
export function typeName(n: number): string;
export function className(n: number): string;
export function rcodeName(n: number): string;

export interface EdnsOptions {
  udpSize?: number;
  do?: boolean;
  extRcode?: number;
  version?: number;
  options?: { code: number; data: Buffer }[];
}
export interface QueryOptions {
  id?: number;
  name: string;
  type?: number;
  cls?: number;
  rd?: boolean;
  ad?: boolean;
  cd?: boolean;
  edns?: EdnsOptions | null;
  trailing?: Buffer | null;
}
export interface HeaderFlags {
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
}

export function encodeName(name: string): Buffer;
export function nameOfLength(octets: number, suffix?: string): string;
export function optRecord(opts?: EdnsOptions): Buffer;
export function record(owner: string, type: number, cls: number, ttl: number, rdata: Buffer): Buffer;
export const rdata: {
  a(ip: string): Buffer;
  name(name: string): Buffer;
  txt(...strings: string[]): Buffer;
  soa(soa: {
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    minimum: number;
  }): Buffer;
};
export function questionBytes(name: string, type: number, cls?: number): Buffer;
export function buildMessage(parts: {
  id?: number;
  flags?: HeaderFlags;
  question?: Buffer | null;
  answer?: Buffer[];
  authority?: Buffer[];
  additional?: Buffer[];
  counts?: { qd?: number; an?: number; ns?: number; ar?: number };
  trailing?: Buffer | null;
}): Buffer;
export function buildQuery(query: QueryOptions): Buffer;
export function readName(msg: Buffer, off: number): { name: string; end: number };

export interface ParsedRecord {
  name: string;
  type: number;
  cls: number;
  ttl: number;
  // biome-ignore lint/suspicious/noExplicitAny: an address, a name, TXT strings, an SOA object or hex, by type
  data: any;
}
export interface ParsedMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
  counts: { qd: number; an: number; ns: number; ar: number };
  questions: { name: string; type: number; cls: number }[];
  answer: ParsedRecord[];
  authority: ParsedRecord[];
  additional: ParsedRecord[];
  opt: {
    udpSize: number;
    extRcode: number;
    version: number;
    do: boolean;
    options: { code: number; data: Buffer }[];
    ede: { code: number; text: string }[];
  } | null;
  questionEnd: number;
  trailing: number;
  error: string | null;
}
export function parseMessage(msg: Buffer): ParsedMessage;

export const FAKE_SOA: {
  ttl: number;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
};
export const FAKE_IDENTITY: string;
// biome-ignore lint/suspicious/noExplicitAny: a table of names and addresses, see the .js
export const FAKE_ZONE: any;

export interface Seen {
  name: string | null;
  type: number | null;
  cls: number | null;
  edns: boolean;
  do: boolean;
}
export function fakeAnswer(msg: Buffer, opts?: { role?: 'main' | 'old' }): { reply: Buffer | null; seen: Seen | null };

export interface UpstreamQuery extends Seen {
  dropped?: boolean;
}
export interface Probe {
  label?: string | null;
  response: ParsedMessage | null;
  upstream: UpstreamQuery[];
  timeoutMs?: number;
}
export function flagList(m: ParsedMessage): string[];
export function describeAnswer(probe: Probe): string;
export function upstreamText(queries: UpstreamQuery[]): string;
export function shapeOf(probe: Probe, opts?: { ttls?: boolean }): Record<string, string | boolean>;
export function differences(a: Probe[], b: Probe[], opts?: { ttls?: boolean }): string[];

export interface CaseResult {
  id: string;
  title: string;
  expects: string;
  ballast: { steps: Probe[]; ok: boolean | null };
  bind: { steps: Probe[]; ok: boolean | null };
  differences: string[];
}
export function cellOf(result: { steps: Probe[]; ok: boolean | null }): string;
export function renderReport(report: {
  command: string;
  date: string;
  bindVersion: string;
  ballastVersion: string;
  nodeVersion: string;
  seconds: number;
  setup: string;
  cases: CaseResult[];
}): string;
export function summaryOf(cases: CaseResult[]): { differ: number; checked: number; ballastOk: number; bindOk: number };
