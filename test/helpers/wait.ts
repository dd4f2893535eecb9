// Waiting for something that happens on real sockets or in a child process: the one polling helper of the tests.
import { vi } from 'vitest';

export interface UntilOptions {
  /** Real milliseconds before giving up. Generous: a busy 2-core machine is slow, and no test asserts on time. */
  timeoutMs?: number;
  /** Real milliseconds between checks; a check still running is not started again. */
  intervalMs?: number;
}

/**
 * Resolves once `cond` holds; rejects with "waiting for <what>: …" when it does not within `timeoutMs`, so a failure
 * says what never happened. For socket and process events only: time on a ManualClock is advanced, not waited for.
 * An error thrown by `cond` fails at once.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 5 }: UntilOptions = {},
): Promise<void> {
  await vi.waitUntil(cond, { timeout: timeoutMs, interval: intervalMs, message: `waiting for ${what}` });
}
