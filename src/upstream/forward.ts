import {
  AbandonedError,
  CapacityTimeoutError,
  QueueFullError,
  RetryStarvedError,
  UpstreamsDownError,
  UpstreamTimeoutError,
} from '../errors.js';
import { Cancel } from '../util/cancel.js';
import type { Clock, Timer } from '../util/clock.js';
import { Rcode } from '../wire/index.js';
import type { UpstreamMetrics } from './metrics.js';
import { attemptOutcome } from './outcome.js';
import type { Ticket } from './queue.js';
import type { RetryBudget } from './retry-budget.js';
import type { Asked, Route } from './route.js';
import type { Answer } from './upstream.js';
import type { Zone } from './zones.js';

export interface ForwardDeps {
  readonly clock: Clock;
  readonly budget: RetryBudget;
  readonly metrics: UpstreamMetrics;
}

/** Flows that join a query while it waits for capacity (coalesced askers): it then waits in their lanes too. */
export class Askers {
  private listener: ((flow: string) => void) | undefined;

  join(flow: string): void {
    this.listener?.(flow);
  }

  listen(fn: (flow: string) => void): () => void {
    this.listener = fn;
    return () => {
      this.listener = undefined;
    };
  }
}

/** What is asked: the query bytes (ID 0; each attempt writes its own), and who asks it. */
export interface ForwardRequest extends Asked {
  readonly query: Buffer;
  readonly questionEnd: number;
  /** Whose turn it is in the fair queue, and who pays for its retransmissions: a client, in a zone. */
  readonly flow: string;
  readonly askers?: Askers;
}

/** Whether an upstream answer can be cached and served (RFC 8767 §4: only these refresh an entry). */
export function isAnswer(rcode: number): boolean {
  return rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN;
}

/**
 * Asks the zone's upstreams until one answers or the deadline passes (docs/resilience.md). The query first gets a
 * slot of an upstream's capacity: at once when one is free and nobody waits, else in its flow's lane of that
 * upstream's fair queue (queue.ts), for at most the zone's deadline. The deadline on the wire starts with the first
 * attempt, so time in ballast's own queue is never blamed on the name or the upstream. A UDP query that gets no
 * answer within its route's retransmission timeout (RFC 6298's estimator, doubled per attempt) is sent again — to
 * the zone's next upstream when there is one — while every earlier attempt keeps listening; each resend is paid
 * from the node's retry budget. An error rcode or an unreachable upstream moves on to another upstream at once. A
 * route that goes down ends the query at once unless another upstream of the zone is still usable.
 *
 * Resolves with the first NOERROR/NXDOMAIN answer, else the last error answer; rejects with the error that names
 * the query's outcome (outcome.ts `queryOutcome`).
 */
export function forward(zone: Zone, req: ForwardRequest, deps: ForwardDeps): Promise<Forwarded> {
  return new Promise((resolve, reject) => new Attempts(zone, req, deps, resolve, reject).start());
}

/** An answer, and the route it came from (its upstream, for its zone): what it says is evidence about that route. */
export interface Forwarded {
  readonly answer: Answer;
  readonly route: Route;
}

class Attempts {
  private readonly order: readonly Route[];
  private readonly cancel = new Cancel();
  private deadlineAt = 0;
  private readonly tried = new Set<Route>();
  private sent = 0;
  private pending = 0;
  private settled = false;
  /** A retransmission was due but not sent (no budget token, no capacity): a timeout is then not the name's. */
  private starved = false;
  private ticket: Ticket | undefined;
  /** The route whose upstream's queue the ticket waits in. */
  private queuedOn: Route | undefined;
  /** When the query first waited for capacity: however often it moves queue, it waits one deadline in all. */
  private queuedSince: number | undefined;
  /** The flows waiting on this query: it waits in a lane of each (a client asking again gets no second place). */
  private readonly flows: Set<string>;
  private stopListening: (() => void) | undefined;
  private release: (() => void) | undefined;
  private rtoTimer: Timer | undefined;
  /** Retransmission timeouts so far (sent or not): each waits twice as long as the one before. */
  private rounds = 0;
  /** The route of the last attempt, whose RTO times the next retransmission. */
  private last: Route | undefined;
  private deadlineTimer: Timer | undefined;
  private errorAnswer: Forwarded | undefined;
  private lastError: unknown;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly zone: Zone,
    private readonly req: ForwardRequest,
    private readonly deps: ForwardDeps,
    private readonly resolve: (a: Forwarded) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.order = zone.selector.order(zone.routes);
    this.flows = new Set([req.flow]);
  }

  start(): void {
    if (!this.order.some((r) => r.acceptsTraffic)) {
      this.reject(new UpstreamsDownError(`every upstream of zone ${this.zone.name} is down`));
      return;
    }
    for (const r of this.order) this.offs.push(r.onDown(() => this.onRouteDown()));
    this.takeTurn();
  }

  /**
   * A slot now on a usable upstream with capacity and nobody waiting, else a turn in the first one's fair queue, for
   * what is left of the zone's deadline since the query first asked for one.
   */
  private takeTurn(): void {
    const usable = this.order.filter((r) => r.acceptsTraffic);
    const free = usable.find((r) => r.upstream.queue.free);
    if (free !== undefined) {
      this.dispatch(free);
      return;
    }
    const route = usable[0];
    const now = this.deps.clock.now();
    this.queuedSince ??= now;
    // Before the first attempt, one deadline in all for the wait; after it (a failover), what is left on the wire.
    const left = this.sent === 0 ? this.zone.deadlineMs - (now - this.queuedSince) : this.deadlineAt - now;
    let started = false;
    const ticket = route.upstream.queue.wait(
      this.req.flow,
      (release) => {
        started = true;
        this.leaveQueue();
        this.release ??= release;
        this.dispatch(route);
      },
      () =>
        this.sent === 0
          ? this.finish(undefined, new CapacityTimeoutError(`no upstream capacity within ${this.zone.deadlineMs} ms`))
          : this.onDeadline(),
      Math.max(1, left),
    );
    // The turn may have come at once, inside wait(): then there is no ticket to keep.
    if (started) return;
    if (ticket === undefined) {
      this.finish(undefined, new QueueFullError(`the queue of ${this.req.flow} is full`));
      return;
    }
    this.ticket = ticket;
    this.queuedOn = route;
    if (this.req.askers !== undefined) {
      // Each flow once: a client asking again (a retry) does not get a second place.
      const join = (flow: string) => !this.flows.has(flow) && this.flows.add(flow) && ticket.join(flow);
      for (const flow of this.flows) if (flow !== this.req.flow) ticket.join(flow);
      this.stopListening = this.req.askers.listen(join);
    }
  }

  /** The query has its slot, or no longer wants one: no ticket, and no more listening for joining askers. */
  private leaveQueue(): void {
    this.ticket?.cancel();
    this.ticket = this.queuedOn = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** A slot on `route`'s upstream: the first attempt, or, after a failover, the next one. */
  private dispatch(route: Route): void {
    if (this.sent === 0) this.begin(route);
    else if (!this.send(route)) {
      this.starved = true;
      this.armRto();
    }
  }

  /** The first attempt, on `first`'s upstream, where the slot is: the deadline on the wire starts now. */
  private begin(first: Route): void {
    if (this.settled) return;
    const { deadlineMs } = this.zone;
    this.deadlineAt = this.deps.clock.now() + deadlineMs;
    this.deadlineTimer = this.deps.clock.setTimer(() => this.onDeadline(), deadlineMs);
    if (!this.send(first)) this.finish(undefined, this.lastError ?? new UpstreamsDownError('no upstream to ask'));
  }

  /**
   * Sends one attempt: to `to`, or to an upstream not asked yet when there is one, else the next in turn (over TCP
   * only a new upstream: the connection itself retransmits). Returns false when nothing could be sent.
   */
  private send(to?: Route): boolean {
    const route = to ?? this.pick();
    if (route === undefined) return false;
    if (this.sent > 0) {
      if (!this.deps.budget.take(this.req.flow)) {
        this.deps.metrics.budgetExhausted.inc();
        return false;
      }
      this.deps.metrics.retransmissions.labels(route.upstream.label).inc();
    }
    this.sent++;
    this.last = route;
    this.tried.add(route);
    this.pending++;
    const remaining = Math.max(1, this.deadlineAt - this.deps.clock.now());
    route.exchange(Buffer.from(this.req.query), this.req.questionEnd, remaining, this.req, this.cancel).then(
      (answer) => this.onAnswer({ answer, route }),
      (e) => this.onError(e),
    );
    this.armRto();
    return true;
  }

  /** The next retransmission timeout: the last route's RTO, doubled per timeout so far, within the deadline. */
  private armRto(): void {
    const remaining = this.deadlineAt - this.deps.clock.now();
    this.rtoTimer?.cancel();
    if (remaining <= 0 || this.last === undefined) return;
    this.rtoTimer = this.deps.clock.setTimer(() => this.onRto(), Math.min(this.last.rto(this.rounds), remaining));
  }

  private pick(): Route | undefined {
    const candidates = this.order.filter((r) => r.hasRoom);
    const fresh = candidates.find((r) => !this.tried.has(r));
    if (fresh !== undefined || this.zone.protocol === 'tcp') return fresh;
    return candidates.length === 0 ? undefined : candidates[this.sent % candidates.length];
  }

  /**
   * No answer within the timeout: send again if the budget and capacity allow; either way, keep listening, and when
   * nothing could be sent, try again at the next timeout (a token may have come in by then).
   */
  private onRto(): void {
    if (this.settled) return;
    this.rounds++;
    if (this.send() || this.zone.protocol === 'tcp') return;
    this.starved = true;
    this.armRto();
  }

  private onAnswer(answered: Forwarded): void {
    this.pending--;
    this.deps.budget.earn(this.req.flow);
    if (this.settled) return;
    if (isAnswer(answered.answer.scan.rcode)) {
      this.finish(answered);
      return;
    }
    // SERVFAIL, REFUSED…: another upstream of the zone may do better; if there is none, this is the answer.
    this.errorAnswer = answered;
    const another = this.order.some((r) => !this.tried.has(r) && r.hasRoom);
    if (!another || !this.send()) this.finish(answered);
  }

  private onError(err: unknown): void {
    this.pending--;
    if (this.settled || err instanceof AbandonedError) return;
    this.lastError = err;
    // An unreachable upstream or a broken connection: another upstream now, if the zone has one not asked yet;
    // otherwise, once nothing else is out, the query has failed — there is no point waiting for the deadline.
    const transport = attemptOutcome(undefined, err) !== 'no_answer';
    if (transport && this.order.some((r) => !this.tried.has(r) && r.hasRoom) && this.send()) return;
    if (this.pending > 0) return;
    if (transport) this.finish(this.errorAnswer, err);
    else if (this.deps.clock.now() >= this.deadlineAt) this.onDeadline();
  }

  /**
   * A route of the zone went down (its health, not this name). Still waiting for capacity: wait on another usable
   * upstream, if any. Attempts out: if no upstream of the zone is usable any more, waiting on is pointless — the
   * query ends now, so a client with a stale answer gets it at once; if only the routes asked went down, ask another.
   */
  private onRouteDown(): void {
    if (this.settled) return;
    if (!this.order.some((r) => r.acceptsTraffic)) {
      this.finish(this.errorAnswer, new UpstreamsDownError(`every upstream of zone ${this.zone.name} went down`));
      return;
    }
    if (this.ticket !== undefined) {
      if (this.queuedOn!.acceptsTraffic) return;
      this.leaveQueue();
      this.takeTurn();
    } else if (this.sent > 0 && ![...this.tried].some((r) => r.acceptsTraffic)) {
      // Every upstream asked is down: the query moves to one still usable, waiting its turn there if it is busy.
      this.takeTurn();
    }
  }

  /** The deadline on the wire: every upstream asked has failed this name, unless a resend was starved. */
  private onDeadline(): void {
    if (this.settled) return;
    for (const r of this.tried) r.deadline(this.req, this.starved);
    this.finish(this.errorAnswer, this.timeout());
  }

  private timeout(): Error {
    const within = `within ${this.zone.deadlineMs} ms`;
    return this.starved
      ? new RetryStarvedError(`no answer for zone ${this.zone.name} ${within}; a retransmission was not sent`)
      : new UpstreamTimeoutError(`no answer for zone ${this.zone.name} ${within}`);
  }

  private finish(answer: Forwarded | undefined, err?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    for (const off of this.offs) off();
    this.leaveQueue();
    this.release?.();
    this.rtoTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.cancel.cancel();
    if (answer !== undefined) this.resolve(answer);
    else this.reject(err ?? this.timeout());
  }
}
