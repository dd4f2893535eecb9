// Types of bench/lib/conformance/compare.js for the TypeScript test (test/bench/conformance.test.ts).
import type { Seen } from './fake.js';
import type { ParsedMessage } from './parse.js';

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
