/**
 * How every fuzz property runs. fast-check picks a fresh seed each run, so CI keeps exploring new cases; when a
 * property fails, its error shows the counterexample and `{ seed: S, path: "P", endOnFailure: true }`. To run exactly
 * that case again (docs/design.md §6, "Fuzzing"):
 *
 *   FUZZ_SEED=S FUZZ_PATH=P npx vitest run test/fuzz/FILE.test.ts -t 'PROPERTY NAME'
 *
 * FUZZ_SCALE multiplies every property's case count (0.1 for a quick local pass, 10 or more for a long campaign).
 */
import type fc from 'fast-check';

const scale = Number(process.env.FUZZ_SCALE ?? 1);
const seed = process.env.FUZZ_SEED;
const path = process.env.FUZZ_PATH;

/** The fast-check parameters for a property with `runs` cases in CI. */
export function fuzz<T>(runs: number): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(runs * scale)),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path, endOnFailure: true } : {}),
  };
}

/** The case count as shown in a test's name, so the CI log says how many ran. */
export function runs(n: number): string {
  return `${Math.max(1, Math.round(n * scale)).toLocaleString('en-US')} cases`;
}

/**
 * A plain assertion for the hot path of a property: vitest's expect costs more than the code under test, and a
 * property runs it tens of thousands of times. The message is what fast-check shows next to the counterexample.
 */
export function must(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(typeof message === 'string' ? message : message());
}

/** must(a === b), showing both. */
export function same<T>(actual: T, wanted: T, what: string): void {
  if (actual !== wanted) throw new Error(`${what}: got ${String(actual)}, wanted ${String(wanted)}`);
}
