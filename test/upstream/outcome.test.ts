// What failed is decided in one place (src/upstream/outcome.ts). This walks its two tables: every input an attempt
// or a query can end with lands on exactly one outcome, and docs/resilience.md lists every outcome with the same
// meaning, the same evidence, the same blame and the same reply as the code.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  AbandonedError,
  CapacityTimeoutError,
  QueueFullError,
  RetryStarvedError,
  UpstreamBusyError,
  UpstreamNetworkError,
  UpstreamsDownError,
  UpstreamTimeoutError,
} from '../../src/errors.js';
import {
  ATTEMPT_RULES,
  type AttemptOutcome,
  attemptOutcome,
  type ClientReply,
  domainOf,
  QUERY_RULES,
  type QueryOutcome,
  queryOutcome,
} from '../../src/upstream/index.js';
import { encodeName, Rcode, rcodeLabel } from '../../src/wire/index.js';

const resilienceMd = await readFile(new URL('../../docs/resilience.md', import.meta.url), 'utf8');

const refused = (code: string) => new UpstreamNetworkError('x', { cause: Object.assign(new Error(code), { code }) });

/** One input of each kind an attempt can end with, and the outcome it must be. */
const ATTEMPT_INPUTS: [string, () => AttemptOutcome, AttemptOutcome][] = [
  ['NOERROR', () => attemptOutcome(Rcode.NOERROR), 'answer'],
  ['NXDOMAIN', () => attemptOutcome(Rcode.NXDOMAIN), 'answer'],
  ['SERVFAIL', () => attemptOutcome(Rcode.SERVFAIL), 'error_rcode'],
  ['FORMERR', () => attemptOutcome(Rcode.FORMERR), 'error_rcode'],
  ['NOTIMP', () => attemptOutcome(Rcode.NOTIMP), 'error_rcode'],
  ['REFUSED', () => attemptOutcome(Rcode.REFUSED), 'refused'],
  ['no answer in time', () => attemptOutcome(undefined, new UpstreamTimeoutError('x')), 'no_answer'],
  ['ECONNREFUSED', () => attemptOutcome(undefined, refused('ECONNREFUSED')), 'unreachable'],
  ['EHOSTUNREACH', () => attemptOutcome(undefined, refused('EHOSTUNREACH')), 'unreachable'],
  ['ECONNRESET', () => attemptOutcome(undefined, refused('ECONNRESET')), 'unreachable'],
  ['connection closed', () => attemptOutcome(undefined, new UpstreamNetworkError('closed')), 'broken'],
  ['cancelled', () => attemptOutcome(undefined, new AbandonedError('x')), 'abandoned'],
  ['at its limit', () => attemptOutcome(undefined, new UpstreamBusyError('x')), 'busy'],
];

/** One error of each kind a query can end with, and the outcome it must be. */
const QUERY_INPUTS: [Error, QueryOutcome][] = [
  [new UpstreamTimeoutError('x'), 'wire_timeout'],
  [new RetryStarvedError('x'), 'starved'],
  [new UpstreamNetworkError('x'), 'transport_error'],
  [new UpstreamsDownError('x'), 'zone_down'],
  [new CapacityTimeoutError('x'), 'queue_timeout'],
  [new UpstreamBusyError('x'), 'queue_timeout'],
  [new QueueFullError('x'), 'queue_full'],
];

/** The rows of the docs table whose header's first cell is `first`, as trimmed cells, backticks removed. */
function table(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n');
  const head = lines.findIndex((l) => l.startsWith('|') && l.split('|')[1].trim() === first);
  if (head === -1) throw new Error(`docs/resilience.md has no table headed "${first}"`);
  const rows: string[][] = [];
  for (let i = head + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    rows.push(
      lines[i]
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replaceAll('`', '')),
    );
  }
  return rows;
}

const CONSUMER: Record<string, string> = {
  'name backoff': 'failure cache',
  'name first': 'failure cache, first hold only',
  'transport none': 'route health, which has already decided',
  'local none': 'nobody',
};

function reply(r: ClientReply | 'upstream'): string {
  if (r === 'upstream') return 'the upstream’s own error answer';
  const text = r.text === undefined ? '' : ` "${r.text}"`;
  return `${rcodeLabel(r.rcode)}, EDE ${r.ede}${text}`;
}

describe('outcome.ts: every attempt and every query ends in one outcome of a closed set', () => {
  it('classifies each kind of attempt ending, and every attempt outcome has an input', () => {
    for (const [what, classify, outcome] of ATTEMPT_INPUTS) expect(classify(), what).toBe(outcome);
    expect(new Set(ATTEMPT_INPUTS.map(([, , o]) => o))).toEqual(new Set(Object.keys(ATTEMPT_RULES)));
  });

  it('classifies each kind of query ending; an error answer is its own outcome (resolve/fetch.ts)', () => {
    for (const [err, outcome] of QUERY_INPUTS) expect(queryOutcome(err), err.name).toBe(outcome);
    expect(new Set([...QUERY_INPUTS.map(([, o]) => o), 'error_rcode'])).toEqual(new Set(Object.keys(QUERY_RULES)));
  });

  it('only an outcome whose time was spent on the wire is the name’s, and only those are held', () => {
    const named = Object.entries(QUERY_RULES).filter(([, r]) => r.blame === 'name');
    expect(named.map(([o]) => o).sort()).toEqual(['error_rcode', 'starved', 'wire_timeout']);
    for (const [outcome, rule] of Object.entries(QUERY_RULES)) {
      expect(rule.hold === 'none', outcome).toBe(rule.blame !== 'name');
    }
  });

  it('a name’s domain is the two labels below its zone: one policy domain is one domain at any depth', () => {
    const wire = (n: string) => encodeName(n).toString('latin1');
    expect(domainOf(wire('a.partner.example'), 0)).toBe(wire('partner.example'));
    expect(domainOf(wire('h1.r1.blocked.example'), 0)).toBe(wire('blocked.example'));
    expect(domainOf(wire('h2.r2.blocked.example'), 0)).toBe(wire('blocked.example'));
    expect(domainOf(wire('svc.ns.svc.cluster.local'), 2)).toBe(wire('ns.svc.cluster.local'));
    expect(domainOf(wire('kubernetes.default.svc.cluster.local'), 2)).toBe(wire('default.svc.cluster.local'));
    expect(domainOf(wire('example'), 0)).toBe(wire('example'));
    expect(domainOf(wire('.'), 0)).toBe(wire('.'));
  });
});

describe('docs/resilience.md lists every outcome as the code decides it', () => {
  it('every attempt outcome: what it is, and what route health and the in-flight window count it as', () => {
    const rows = table(resilienceMd, 'attempt outcome');
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(ATTEMPT_RULES).sort());
    for (const [outcome, what, health, window] of rows) {
      const rule = ATTEMPT_RULES[outcome as AttemptOutcome];
      expect({ outcome, what, health, window }).toEqual({
        outcome,
        what: rule.means,
        health: rule.health,
        window: rule.window,
      });
    }
  });

  it('every query outcome: what it is, whom it is blamed on, who counts it, and what the client gets', () => {
    const rows = table(resilienceMd, 'query outcome');
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(QUERY_RULES).sort());
    for (const [outcome, what, blame, consumer, client] of rows) {
      const rule = QUERY_RULES[outcome as QueryOutcome];
      expect({ outcome, what, blame, consumer, client }).toEqual({
        outcome,
        what: rule.means,
        blame: rule.blame,
        consumer: CONSUMER[`${rule.blame} ${rule.hold}`],
        client: reply(rule.reply),
      });
    }
  });
});
