// Types of bench/lib/conformance/report.js for the TypeScript test (test/bench/conformance.test.ts).
import type { Probe } from './compare.js';

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
