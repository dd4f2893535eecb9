// Types of bench/lib/conformance/build.js for the TypeScript test (test/bench/conformance.test.ts).
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
