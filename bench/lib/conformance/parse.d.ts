// Types of bench/lib/conformance/parse.js for the TypeScript test (test/bench/conformance.test.ts).
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
