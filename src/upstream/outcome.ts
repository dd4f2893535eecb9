import {
  AbandonedError,
  CapacityTimeoutError,
  QueueFullError,
  RetryStarvedError,
  UpstreamBusyError,
  UpstreamsDownError,
  UpstreamTimeoutError,
} from '../errors.js';
import { Ede, Rcode } from '../wire/index.js';
import { isUnreachable } from './udp.js';

/**
 * What failed: a name, the transport to an upstream for one zone, the upstream's capacity, or ballast itself
 * (docs/resilience.md, "What failed"). Every outcome is classified here, once, at two levels:
 *
 * - An attempt (one query sent to one upstream) blames nothing on its own: ATTEMPT_RULES says what it is evidence
 *   of, for the route's health (evidence.ts) and the upstream's in-flight window (window.ts). Evidence correlated
 *   across names and domains, or over time, becomes a verdict there: `transport` (silence, transport errors in a
 *   row, failures across names and domains) or `congestion` (REFUSED across domains).
 * - A query (all its attempts, within its deadline) that ends without an answer is blamed on one class, and only
 *   that class's consumer counts it (QUERY_RULES): `name` → the RFC 9520 failure cache, and only for time spent on
 *   the wire (a deadline whose resend ballast did not send is held, but never backed off: a lost datagram may have
 *   been the reason); `transport` → nothing more, its route's health already decided; `local` (ballast's own queue
 *   or capacity before the first attempt) → nobody: the client gets its stale answer or an error that is not held.
 *
 * Like Knot Resolver's `kr_selection_error` and its table of what each error means, the closed sets and the tables
 * below are the whole of it: a new way to fail is a new row, not an `if` somewhere on the request path.
 */
export type Blame = 'name' | 'transport' | 'congestion' | 'local';

/** Every way one attempt (one query sent to one upstream) ends. */
export type AttemptOutcome =
  | 'answer'
  | 'error_rcode'
  | 'refused'
  | 'no_answer'
  | 'unreachable'
  | 'broken'
  | 'abandoned'
  | 'busy';

/**
 * What one attempt's outcome tells its route's health (evidence.ts) and its upstream's window (window.ts). An
 * attempt on its own blames nothing: it is evidence, and only evidence that is correlated across names, domains or
 * time turns into a verdict about the transport or the capacity.
 */
export interface AttemptRule {
  /**
   * - `alive`: an answer for the name, whatever else: the transport works, and the name did not fail;
   * - `name_failed`: an answer, so the transport works, but the name failed: counted across names and domains;
   * - `transport_error`: counted towards the run of transport errors;
   * - `silence`: no answer: it is checked whether nothing has been answered for `silenceMs`;
   * - `none`: not about the upstream.
   */
  readonly health: 'alive' | 'name_failed' | 'transport_error' | 'silence' | 'none';
  /** `good` grows the window, `refused` is counted across domains; `none` leaves it. */
  readonly window: 'good' | 'refused' | 'none';
  /** For the docs table: what the outcome is. */
  readonly means: string;
}

export const ATTEMPT_RULES: Readonly<Record<AttemptOutcome, AttemptRule>> = {
  answer: { health: 'alive', window: 'good', means: 'NOERROR or NXDOMAIN' },
  error_rcode: {
    health: 'name_failed',
    window: 'good',
    means: 'SERVFAIL, FORMERR, NOTIMP or another error rcode but REFUSED',
  },
  refused: { health: 'alive', window: 'refused', means: 'REFUSED' },
  no_answer: { health: 'silence', window: 'none', means: 'nothing came within the attempt' },
  unreachable: {
    health: 'transport_error',
    window: 'none',
    means: 'ICMP unreachable, connection refused or reset',
  },
  broken: {
    health: 'silence',
    window: 'none',
    means: 'a TCP connection closed mid-query, an unreadable answer',
  },
  abandoned: { health: 'none', window: 'none', means: 'another attempt answered first' },
  busy: { health: 'none', window: 'none', means: 'not sent: the upstream is at its in-flight limit' },
};

/** Classifies one attempt: its answer's rcode, or the error it ended with. */
export function attemptOutcome(rcode: number | undefined, err?: unknown): AttemptOutcome {
  if (rcode !== undefined) {
    if (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN) return 'answer';
    return rcode === Rcode.REFUSED ? 'refused' : 'error_rcode';
  }
  if (err instanceof AbandonedError) return 'abandoned';
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof UpstreamTimeoutError) return 'no_answer';
  return isUnreachable(err) ? 'unreachable' : 'broken';
}

/** Every way one query (all its attempts, within its deadline) ends without an answer. */
export type QueryOutcome =
  | 'error_rcode'
  | 'wire_timeout'
  | 'starved'
  | 'transport_error'
  | 'zone_down'
  | 'queue_timeout'
  | 'queue_full';

/** What a client gets for a query that ended so, when it has no stale answer; `upstream` is the error answer itself. */
export interface ClientReply {
  readonly rcode: number;
  readonly ede?: number;
  readonly text?: string;
}

export interface QueryRule {
  readonly blame: Exclude<Blame, 'congestion'>;
  /** How the failure cache holds a `name` outcome: with RFC 9520's backoff, or for the first hold only each time. */
  readonly hold: 'backoff' | 'first' | 'none';
  /** What the client gets (and, for a `name` outcome, what the failure cache answers while it holds the name). */
  readonly reply: ClientReply | 'upstream';
  readonly means: string;
}

const NO_REACHABLE_AUTHORITY: ClientReply = { rcode: Rcode.SERVFAIL, ede: Ede.NO_REACHABLE_AUTHORITY };

export const QUERY_RULES: Readonly<Record<QueryOutcome, QueryRule>> = {
  error_rcode: {
    blame: 'name',
    hold: 'backoff',
    reply: 'upstream',
    means: 'every upstream asked answered an error rcode (SERVFAIL, REFUSED, …): the last one is passed on',
  },
  wire_timeout: {
    blame: 'name',
    hold: 'backoff',
    reply: NO_REACHABLE_AUTHORITY,
    means: 'the whole deadline spent on the wire, every retransmission sent, no answer',
  },
  starved: {
    blame: 'name',
    hold: 'first',
    reply: NO_REACHABLE_AUTHORITY,
    means: 'no answer by the deadline on the wire, but a retransmission was not sent (retry budget or capacity)',
  },
  transport_error: {
    blame: 'transport',
    hold: 'none',
    reply: { rcode: Rcode.SERVFAIL, ede: Ede.NETWORK_ERROR },
    means: 'every upstream asked was unreachable or broke the connection',
  },
  zone_down: {
    blame: 'transport',
    hold: 'none',
    reply: NO_REACHABLE_AUTHORITY,
    means: 'every upstream of the zone is down, or went down while the query waited',
  },
  queue_timeout: {
    blame: 'local',
    hold: 'none',
    reply: { rcode: Rcode.SERVFAIL, ede: Ede.OTHER, text: 'no upstream capacity' },
    means: 'waited its whole deadline in the fair queue without getting upstream capacity',
  },
  queue_full: {
    blame: 'local',
    hold: 'none',
    reply: { rcode: Rcode.REFUSED, ede: Ede.OTHER, text: 'client queue full' },
    means: 'its client’s fair queues are full',
  },
};

/** How a query ends when no upstream answered it at all: everything but an error answer. */
export type Unanswered = Exclude<QueryOutcome, 'error_rcode'>;

/** The reply for a query that ended unanswered. */
export function unansweredReply(outcome: Unanswered): ClientReply {
  return QUERY_RULES[outcome].reply as ClientReply;
}

/** Classifies the error a query ended with (forward's rejection). */
export function queryOutcome(err: unknown): Unanswered {
  if (err instanceof UpstreamsDownError) return 'zone_down';
  if (err instanceof QueueFullError) return 'queue_full';
  if (err instanceof CapacityTimeoutError || err instanceof UpstreamBusyError) return 'queue_timeout';
  if (err instanceof RetryStarvedError) return 'starved';
  if (err instanceof UpstreamTimeoutError) return 'wire_timeout';
  return 'transport_error';
}

/**
 * The domain a wire-format, lower-cased qname belongs to, for telling one domain's trouble from the upstream's: the
 * two labels just below its zone, with the zone ("h1.r1.blocked.example" and "a.blocked.example" are both in
 * "blocked.example" under "."; "svc.ns.svc.cluster.local" is in "ns.svc.cluster.local", its namespace, under
 * cluster.local). A policy or a broken authority covers a subtree at some depth; two labels is where registrable
 * domains and namespaces are, and it never splits one of them into many. `zoneLabels` is how many labels the zone
 * has (0 for the root). Returned in the same latin1 wire form.
 */
export function domainOf(qname: string, zoneLabels: number): string {
  const starts: number[] = [];
  for (let pos = 0; pos < qname.length && qname.charCodeAt(pos) !== 0; pos += qname.charCodeAt(pos) + 1) {
    starts.push(pos);
  }
  const below = starts.length - zoneLabels;
  return below <= 2 ? qname : qname.slice(starts[below - 2]);
}
