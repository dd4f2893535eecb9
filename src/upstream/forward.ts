import { AbandonedError, UpstreamNetworkError, UpstreamsDownError, UpstreamTimeoutError } from '../errors.js';
import { Cancel } from '../util/cancel.js';
import type { Clock, Timer } from '../util/clock.js';
import { Rcode } from '../wire/index.js';
import type { RetryBudget } from './budget.js';
import type { UpstreamMetrics } from './metrics.js';
import type { Route } from './route.js';
import { isUnreachable } from './udp.js';
import type { Answer } from './upstream.js';
import type { Zone } from './zones.js';

export interface ForwardDeps {
  readonly clock: Clock;
  readonly budget: RetryBudget;
  readonly metrics: UpstreamMetrics;
}

/** What is asked: the query bytes (ID 0; each attempt writes its own), and the cache key it is for. */
export interface ForwardRequest {
  readonly query: Buffer;
  readonly questionEnd: number;
  readonly name: string;
}

/** Whether an upstream answer can be cached and served (RFC 8767 §4: only these refresh an entry). */
export function isAnswer(rcode: number): boolean {
  return rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN;
}

/**
 * Asks the zone's upstreams until one answers or the zone's deadline passes (docs/design.md §4, §5). A UDP query that
 * gets no answer within its route's retransmission timeout (RFC 6298's estimator, doubled per attempt) is sent again
 * — to the zone's next upstream when there is one — while every earlier attempt keeps listening, so a slow answer
 * (a cold recursion of 400 ms) is taken whenever it arrives and one lost datagram is one retransmission, not a
 * failure. An error rcode or an unreachable upstream moves on to another upstream at once. Every send after the
 * first is paid from the node's retry budget. Resolves with the first NOERROR/NXDOMAIN answer, else the last error
 * answer; rejects with UpstreamTimeoutError at the deadline, UpstreamsDownError when no route is usable.
 */
export function forward(
  zone: Zone,
  req: ForwardRequest,
  deps: ForwardDeps,
  deadlineMs = zone.deadlineMs,
): Promise<Answer> {
  return new Promise((resolve, reject) => new Attempts(zone, req, deps, deadlineMs, resolve, reject).start());
}

class Attempts {
  private readonly order: readonly Route[];
  private readonly cancel = new Cancel();
  private readonly deadlineAt: number;
  private readonly tried = new Set<Route>();
  private sent = 0;
  private pending = 0;
  private settled = false;
  private rtoTimer: Timer | undefined;
  private deadlineTimer: Timer | undefined;
  private errorAnswer: Answer | undefined;
  private lastError: unknown;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly zone: Zone,
    private readonly req: ForwardRequest,
    private readonly deps: ForwardDeps,
    private readonly deadlineMs: number,
    private readonly resolve: (a: Answer) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.order = zone.selector.order(zone.routes).filter((r) => r.usable);
    this.deadlineAt = deps.clock.now() + deadlineMs;
  }

  start(): void {
    if (this.order.length === 0) {
      this.reject(new UpstreamsDownError(`every upstream of zone ${this.zone.name} is down`));
      return;
    }
    this.deadlineTimer = this.deps.clock.setTimer(() => this.onDeadline(), this.deadlineMs);
    if (!this.send()) this.finish(undefined, this.lastError);
  }

  /**
   * Sends one attempt: to an upstream not asked yet when there is one, else the next in turn (over TCP only a new
   * upstream: the connection itself retransmits). Returns false when nothing could be sent.
   */
  private send(): boolean {
    const route = this.pick();
    if (route === undefined) return false;
    if (this.sent > 0) {
      if (!this.deps.budget.take()) {
        this.deps.metrics.budgetExhausted.inc();
        return false;
      }
      this.deps.metrics.retransmissions.labels(route.upstream.label).inc();
    }
    const n = this.sent++;
    if (!this.tried.has(route)) this.unsubscribe.push(route.onDown(() => this.onRouteDown()));
    this.tried.add(route);
    this.pending++;
    const remaining = Math.max(1, this.deadlineAt - this.deps.clock.now());
    route.exchange(Buffer.from(this.req.query), this.req.questionEnd, remaining, this.req.name, this.cancel).then(
      (a) => this.onAnswer(a),
      (e) => this.onError(e),
    );
    this.rtoTimer?.cancel();
    this.rtoTimer = this.deps.clock.setTimer(() => this.onRto(), Math.min(route.rto(n), remaining));
    return true;
  }

  private pick(): Route | undefined {
    const candidates = this.order.filter((r) => r.available);
    const fresh = candidates.find((r) => !this.tried.has(r));
    if (fresh !== undefined || this.zone.protocol === 'tcp') return fresh;
    return candidates.length === 0 ? undefined : candidates[this.sent % candidates.length];
  }

  /** No answer within the timeout: send again if the deadline and the budget allow; either way, keep listening. */
  private onRto(): void {
    if (this.settled) return;
    this.send();
  }

  private onAnswer(answer: Answer): void {
    this.pending--;
    this.deps.budget.earn();
    if (this.settled) return;
    if (isAnswer(answer.scan.rcode)) {
      this.finish(answer);
      return;
    }
    // SERVFAIL, REFUSED…: another upstream of the zone may do better; if there is none, this is the answer.
    this.errorAnswer = answer;
    const another = this.order.some((r) => !this.tried.has(r) && r.available);
    if (!another || !this.send()) this.finish(answer);
  }

  private onError(err: unknown): void {
    this.pending--;
    if (this.settled || err instanceof AbandonedError) return;
    this.lastError = err;
    // An unreachable upstream or a broken connection: another upstream now, if the zone has one not asked yet;
    // otherwise, once nothing else is out, the query has failed — there is no point waiting for the deadline.
    const unreachable = err instanceof UpstreamNetworkError || isUnreachable(err);
    if (unreachable && this.order.some((r) => !this.tried.has(r) && r.available) && this.send()) return;
    if (this.pending === 0 && (unreachable || this.deps.clock.now() >= this.deadlineAt)) {
      this.finish(this.errorAnswer, err);
    }
  }

  /**
   * An upstream asked went down (its health, not this name): if no upstream of the zone is usable any more, waiting
   * on is pointless — the query gives up now, so a client with a stale answer gets it at once (docs/design.md §4).
   */
  private onRouteDown(): void {
    if (this.settled || this.order.some((r) => r.usable)) return;
    this.finish(this.errorAnswer, new UpstreamsDownError(`every upstream of zone ${this.zone.name} went down`));
  }

  /** The deadline: every upstream asked has failed this name; the answer is the last error answer, or a timeout. */
  private onDeadline(): void {
    if (this.settled) return;
    for (const r of this.tried) r.noAnswer(this.req.name);
    this.finish(
      this.errorAnswer,
      new UpstreamTimeoutError(`no answer for zone ${this.zone.name} within ${this.deadlineMs} ms`),
    );
  }

  private finish(answer: Answer | undefined, err?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    for (const off of this.unsubscribe) off();
    this.rtoTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.cancel.cancel();
    if (answer !== undefined) this.resolve(answer);
    else this.reject(err ?? new UpstreamTimeoutError(`no answer for zone ${this.zone.name}`));
  }
}
