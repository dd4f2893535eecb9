import { UpstreamBusyError, UpstreamsDownError } from '../errors.js';
import type { Answer, Upstream, Zone } from '../upstream/index.js';
import type { TokenBucket } from '../util/token-bucket.js';
import { type Query, Rcode, upstreamQuery } from '../wire/index.js';

export interface ForwardOptions {
  readonly udpSize: number;
  /** Earns `retryRatio` of a token per first attempt and pays one per retry (RFC 9520 §3.1: retries are bounded). */
  readonly retryBudget: TokenBucket;
  readonly retryRatio: number;
}

/** Whether an upstream answer can be cached and served (RFC 8767 §4: only these refresh an entry). */
export function isAnswer(rcode: number): boolean {
  return rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN;
}

/** The zone's healthy upstreams that are under their in-flight cap, in the selector's order. */
export function candidates(zone: Zone): Upstream[] {
  const healthy = zone.selector.order(zone.upstreams).filter((u) => u.healthy);
  if (healthy.length === 0) throw new UpstreamsDownError(`every upstream of zone ${zone.name} is down`);
  const available = healthy.filter((u) => u.available);
  if (available.length === 0)
    throw new UpstreamBusyError(`every upstream of zone ${zone.name} is at its in-flight cap`);
  return available;
}

/**
 * Asks the zone's upstreams for `q`: the selector's first healthy choice, then — if that fails or answers with an
 * error rcode, and there is another healthy upstream, and the retry budget allows — once more on the next (at most
 * one retry per client query). Resolves with the last answer of any rcode; rejects when no answer came.
 */
export async function forward(q: Query, zone: Zone, opts: ForwardOptions): Promise<Answer> {
  const order = candidates(zone);
  const query = upstreamQuery(q, opts.udpSize);
  opts.retryBudget.give(opts.retryRatio);
  const ask = (u: Upstream) =>
    u.exchange(Buffer.from(query), q.questionEnd, zone.protocol, zone.timeoutMs, q.key, zone.name);
  // The retry goes to another upstream that is still healthy after the first attempt, if the budget has a token.
  const retry = () => {
    const next = order.slice(1).find((u) => u.available);
    return next !== undefined && opts.retryBudget.take() ? next : undefined;
  };
  let answer: Answer;
  try {
    answer = await ask(order[0]);
  } catch (err) {
    const next = retry();
    if (next === undefined) throw err;
    return ask(next);
  }
  if (isAnswer(answer.scan.rcode)) return answer;
  const next = retry();
  return next === undefined ? answer : ask(next).catch(() => answer);
}
