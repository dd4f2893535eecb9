// Types of bench/lib/conformance/fake.js for the TypeScript test (test/bench/conformance.test.ts).
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
