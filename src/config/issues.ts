import type * as v from 'valibot';
import type { Misplaced } from '../util/validators.js';

// How a config that does not validate is reported: one line per problem, `path: got VALUE; what is allowed`, every
// problem at once, so one edit fixes the file (docs/configuration.md, "Errors").

/** The error text for valibot's issues and the keys {@link unknownKeys} found out of place. */
export function describeIssues(
  issues: readonly v.BaseIssue<unknown>[],
  misplaced: readonly Misplaced[],
  raw: unknown,
): string {
  const lines = issues.map((issue) => {
    const path = (issue.path ?? []).map((p) => p.key as string | number);
    // A check across keys can fail on a default the file never wrote: show the value it had.
    const value = path.length > 0 ? (valueAt(raw, path) ?? issue.input) : raw;
    return `${where(path)}: got ${shown(value)}; ${issue.message}`;
  });
  const unknown = new Map<string, string[]>();
  for (const m of misplaced) {
    if (m.kind === 'not-a-mapping') {
      lines.push(`${where(m.path)}: got ${shown(m.input)}; expected a mapping`);
      continue;
    }
    const instead = replacement(m.path);
    if (instead !== undefined) {
      lines.push(`${where(m.path)}: got ${shown(m.input)}; ${instead}`);
      continue;
    }
    const parent = where(m.path.slice(0, -1));
    unknown.set(parent, [...(unknown.get(parent) ?? []), JSON.stringify(m.path[m.path.length - 1])]);
  }
  for (const [parent, keys] of unknown)
    lines.push(`${parent}: unknown key(s) ${keys.join(', ')}; remove or fix the spelling`);
  // A value can break several rules of one key (-1.5 is neither an integer nor in range): one line for each text.
  return `invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`;
}

const where = (path: readonly (string | number)[]) => (path.length > 0 ? path.join('.') : '(top level)');
const shown = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

/**
 * Settings an earlier release had, with what replaced them: an old config fails at load saying what to write now,
 * instead of meaning something else in silence.
 */
const REPLACED: [string, string][] = [
  ['upstream.timeoutMs', 'replaced by upstream.deadlineMs: one deadline per query, retransmissions included'],
  ['zones.*.timeoutMs', 'replaced by deadlineMs: one deadline per query, retransmissions included'],
  ['upstream.minTimeoutMs', 'replaced by upstream.retransmit.minRtoMs'],
  ['upstream.retryBudgetRatio', 'replaced by upstream.retransmit.budgetPerAnswer: retransmissions are paid by answers'],
  [
    'upstream.health.failureThreshold',
    'replaced by upstream.health.transportErrors (timeouts and REFUSED no longer mark an upstream down)',
  ],
  ['upstream.health.servfailRatio', 'replaced by upstream.health.failureRatio'],
  ['upstream.health.servfailMinNames', 'replaced by upstream.health.minNames'],
  [
    'upstream.health.probeBackoffMinMs',
    'replaced by upstream.health.probeIntervalMs: a down upstream is probed about once a second, so its recovery is ' +
      'noticed within about two',
  ],
  [
    'upstream.health.probeBackoffMaxMs',
    'replaced by upstream.health.probeIntervalMs: a down upstream is probed about once a second, so its recovery is ' +
      'noticed within about two',
  ],
  [
    'clientLimit',
    'replaced by fairness (queues, handSize, queueLength): a busy client now waits in its own queue instead of ' +
      'being refused; see docs/resilience.md',
  ],
];

function replacement(path: readonly (string | number)[]): string | undefined {
  const key = path.map((p) => (typeof p === 'number' ? '*' : p)).join('.');
  return REPLACED.find(([k]) => k === key)?.[1];
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let at: unknown = raw;
  for (const k of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[k];
  }
  return at;
}
