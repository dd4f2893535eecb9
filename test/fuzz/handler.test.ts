// Property-based fuzzing of the whole request path in-process (docs/design.md §4, §6): the real RequestHandler, cache,
// zones and upstream objects, with an in-memory transport in place of the sockets whose answers are fuzzed (and
// sometimes forged or broken). Every reply must be well-formed, match its query, and carry only records an upstream
// sent for that very question; the cache and failure cache stay within their bounds, and no query is left hanging.
// See params.ts to re-run a failure.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { buildCache, buildHandler, createContext, Routing } from '../../src/assemble/index.js';
import { validate } from '../../src/config/index.js';
import { UpstreamNetworkError, UpstreamTimeoutError } from '../../src/errors.js';
import { silentLogger } from '../../src/observe/index.js';
import type { ExchangeRequest, RawAnswer, TransportEvents } from '../../src/upstream/index.js';
import { checkResponse, isScan, TRUNCATED } from '../../src/upstream/validate.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRandom } from '../../src/util/random.js';
import { HEADER_SIZE, isRejection, lowerName, parseQuery, scanResponse } from '../../src/wire/index.js';
import {
  applyBreak,
  type BreakPlan,
  breakPlan,
  buildResponse,
  noise,
  query,
  type ResponsePlan,
  responsePlan,
  sometimesBroken,
} from './arbitraries.js';
import { encode, nameFrom } from './model.js';
import { checkReply, genuineAnswer, labelsAt, SentAnswers } from './oracle.js';
import { fuzz, must, runs, same } from './params.js';
import { strictDecode } from './strict.js';

/** How the in-memory upstream behaves for the current case: the answer it sends, and whether it fails instead. */
let current: { plan: ResponsePlan; brk: BreakPlan | null; fail: string };

/** Every answer the in-memory upstream gave, by cache key. */
const sent = new SentAnswers();

/** An upstream reached through memory: it answers as the current case says, and forgeries are followed by the truth. */
function fuzzTransport(_host: string, _port: number, events: TransportEvents) {
  return {
    async exchange(req: ExchangeRequest): Promise<RawAnswer> {
      events.sent(req.protocol === 'tcp' ? 'tcp' : 'udp');
      if (current.fail === 'timeout') throw new UpstreamTimeoutError('fuzz: no answer');
      if (current.fail === 'refused')
        throw new UpstreamNetworkError('fuzz: unreachable', {
          cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
        });
      const q = req.query;
      const question = {
        name: labelsAt(q),
        type: q.readUInt16BE(req.questionEnd - 4),
        klass: q.readUInt16BE(req.questionEnd - 2),
      };
      const encoded = buildResponse(current.plan, q.readUInt16BE(0), question);
      let bytes = current.brk === null ? encoded.bytes : applyBreak(encoded, current.brk);
      let verdict = checkResponse(bytes, q, req.questionEnd);
      sent.record(q, bytes);
      if (!isScan(verdict)) {
        // A forgery or a broken answer is ignored (and counted); the genuine answer comes next.
        if (verdict !== TRUNCATED) events.rejected(verdict);
        bytes = genuineAnswer(q);
        verdict = scanResponse(bytes);
        sent.record(q, bytes);
      }
      return { bytes, scan: verdict };
    },
    close() {},
  };
}

const clock = new ManualClock();
const config = validate({
  listen: ['127.0.0.1:0'],
  upstream: { servers: ['192.0.2.53:53'] },
  zones: [{ name: 'cluster.local', servers: ['192.0.2.54:53'], protocol: 'tcp' }],
  cache: { maxEntries: 100, maxBytes: 128 * 1024 },
  failureCache: { maxEntries: 50 },
  persistence: { enabled: false },
});
const ctx = createContext({ log: silentLogger(), clock, random: seededRandom(7), transport: fuzzTransport });
const cache = buildCache(config, ctx);
const routing = new Routing(config, ctx, () => undefined);
const handler = buildHandler(config, cache, routing, ctx);
afterAll(() => routing.close());

/** Names the fuzz keeps coming back to, so hits, stale answers and coalescing happen. */
const POOL = [
  'a.example',
  'b.example',
  'Mixed.Example',
  'svc.ns.svc.cluster.local',
  'cluster.local',
  '',
  'x.y.z.example',
];

const pooled = fc.tuple(query, fc.constantFrom(...POOL)).map(([c, name]) => ({
  ...c,
  message: { ...c.message, question: [{ ...c.message.question[0], name: nameFrom(name) }] },
}));

/** A client datagram: mostly queries for the pool, some any-name queries, some broken, some noise. */
const datagram = fc.oneof(
  { weight: 5, arbitrary: pooled.map((c) => encode(c.message, false).bytes) },
  { weight: 2, arbitrary: query.map((c) => encode(c.message, false).bytes) },
  { weight: 2, arbitrary: fc.tuple(pooled, breakPlan).map(([c, b]) => applyBreak(encode(c.message, false), b)) },
  { weight: 1, arbitrary: noise },
);

/** Waits for `p`, moving the manual clock on while it waits: retransmission timers and deadlines then fire. */
async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false;
  const out = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 50 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    if (!done) clock.advance(500);
  }
  must(done, 'a query never settled');
  return out;
}

/** What the replies were, printed with FUZZ_STATS=1 to see what the generators reach. */
const stats = new Map<string, number>();
function tally(what: string): void {
  if (process.env.FUZZ_STATS) stats.set(what, (stats.get(what) ?? 0) + 1);
}
afterAll(() => {
  if (process.env.FUZZ_STATS) console.info([...stats].sort());
});

async function check(raw: Buffer, transport: 'udp' | 'tcp', client: string): Promise<void> {
  const q = parseQuery(raw);
  const out = handler.handle(raw, transport, client);
  const reply = out instanceof Promise ? await settle(out) : out;
  if (isRejection(q)) {
    same(reply === null, q.rcode === undefined, 'dropped exactly what parseQuery drops');
    if (reply !== null) same(strictDecode(reply).id, raw.readUInt16BE(0), 'error reply ID');
    return;
  }
  must(reply !== null, 'a valid query got no reply');
  const m = checkReply(q, reply, transport, sent);
  tally(`rcode ${m.rcode}${m.records.length > 0 ? ' with records' : ''}${m.flags & 0x200 ? ' TC' : ''}`);
}

function checkCache(): void {
  must(cache.entries <= 100 && cache.bytes <= cache.maxHeldBytes, 'cache over its bounds');
  must(handler.settings.failures.size <= 50, 'failure cache over its bound');
  for (const e of cache.exportEntries()) {
    const m = strictDecode(e.bytes);
    const [question] = m.question;
    const asked = `${lowerName(e.bytes, HEADER_SIZE, question.end - 4)}/${question.type}/${question.klass}/`;
    must(e.key.startsWith(asked) && /^[01]{2}$/.test(e.key.slice(asked.length)), 'cached entry under another key');
  }
}

describe('the request path in-process, fuzzed', () => {
  it(`never throws, never hangs, answers every query well-formed with upstream records only (${runs(8_000)})`, async () => {
    let n = 0;
    const behaviourArb = fc.record({
      plan: responsePlan,
      brk: sometimesBroken,
      fail: fc.oneof(
        { weight: 18, arbitrary: fc.constant('none') },
        { weight: 1, arbitrary: fc.constantFrom('timeout', 'refused') },
      ),
    });
    const args = fc.tuple(
      datagram,
      behaviourArb,
      fc.constantFrom<'udp' | 'tcp'>('udp', 'udp', 'tcp'),
      fc.nat({ max: 7 }),
      fc.nat({ max: 600_000 }),
    );
    await fc.assert(
      fc.asyncProperty(args, async ([raw, b, transport, client, advance]) => {
        current = b;
        clock.advance(advance);
        await check(raw, transport, `10.0.0.${client}`);
        // A refresh may go on after a stale answer went out; by the deadline every fetch is over.
        for (let i = 0; i < 20 && handler.pending > 0; i++) {
          clock.advance(500);
          await new Promise((r) => setImmediate(r));
        }
        same(handler.pending, 0, 'upstream fetches left in flight past the deadline');
        if (++n % 50 === 0) checkCache();
      }),
      fuzz(8_000),
    );
    checkCache();
  });
});
