// The fuzz campaign's share over real loopback sockets: a running ballast between a fuzzing client (UDP, and
// pipelined TCP) and a fuzzing upstream (test/helpers/hostile.ts) that answers each query with a fuzzed, sometimes
// broken message and then the genuine one. Every datagram and frame goes through the real listeners, framing and
// upstream transports. The oracle is the in-process campaign's (oracle.ts); on top, nothing may be logged as an
// error (a handler that threw), and nothing may come back for a datagram ballast should drop. See params.ts to re-run.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { FrameDecoder, frame, isRejection, parseQuery } from '../../src/wire/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { type HostileUpstream, startHostileUpstream } from '../helpers/hostile.js';
import { quiesce } from '../helpers/timeline.js';
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
import { checkReply, genuineAnswer, labelsAt, questionEndOf, SentAnswers } from './oracle.js';
import { fuzz, must, runs, same } from './params.js';
import { strictDecode } from './strict.js';

const clock = new ManualClock();
const sent = new SentAnswers();
const errors: string[] = [];
let current: { plan: ResponsePlan; brk: BreakPlan | null };
let upstream: HostileUpstream;
let b: Running;

/** Replies by ID, as they arrive on either transport, and who waits for which. */
const replies = new Map<number, Buffer>();
const waiting = new Map<number, () => void>();
let arrivals = 0;
function arrived(m: Buffer): void {
  arrivals++;
  if (m.length < 2) return;
  replies.set(m.readUInt16BE(0), m);
  waiting.get(m.readUInt16BE(0))?.();
}
const udp = createSocket('udp4');
udp.on('message', arrived);
let tcp: ReturnType<typeof connect>;

beforeAll(async () => {
  upstream = await startHostileUpstream((q) => {
    const end = questionEndOf(q.raw);
    const question = { name: labelsAt(q.raw), type: q.raw.readUInt16BE(end - 4), klass: q.raw.readUInt16BE(end - 2) };
    const encoded = buildResponse(current.plan, q.id, question);
    const fuzzed = current.brk === null ? encoded.bytes : applyBreak(encoded, current.brk);
    const truth = genuineAnswer(q.raw);
    sent.record(q.raw, fuzzed);
    sent.record(q.raw, truth);
    q.reply(fuzzed);
    q.reply(truth);
  });
  // Errors only: "query handler threw" and the like are what this campaign must never see.
  const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  b = await startBallast(
    { upstream: { servers: [upstream.address] }, cache: { maxEntries: 100, maxBytes: 128 * 1024 } },
    { clock, log },
  );
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  tcp = connect({ port: b.port, host: '127.0.0.1' });
  const decoder = new FrameDecoder();
  tcp.on('data', (chunk) => decoder.push(chunk, arrived));
  await new Promise<void>((r) => tcp.once('connect', () => r()));
});

afterAll(async () => {
  tcp?.destroy();
  udp.close();
  await b?.close();
  await upstream?.close();
});

const POOL = ['a.example', 'Mixed.Example', 'b.example', '', 'deep.x.y.example'];
const pooled = fc
  .tuple(query, fc.constantFrom(...POOL))
  .map(([c, n]) => ({ ...c, message: { ...c.message, question: [{ ...c.message.question[0], name: nameFrom(n) }] } }));
const datagram = fc.oneof(
  { weight: 5, arbitrary: pooled.map((c) => encode(c.message, false).bytes) },
  { weight: 2, arbitrary: fc.tuple(pooled, breakPlan).map(([c, br]) => applyBreak(encode(c.message, false), br)) },
  { weight: 1, arbitrary: noise.filter((n) => n.length >= 2) },
);

/**
 * Waits for the reply with `id`. Most come within a millisecond; one that waits on ballast's timers (every attempt
 * rejected) needs the manual clock moved on, which happens once the sockets have gone quiet without it (everything
 * on loopback handled: test/helpers/timeline.ts), up to the deadline.
 */
async function replyTo(id: number): Promise<Buffer | undefined> {
  const activity = () => upstream.queries.length + arrivals;
  for (let i = 0; i < 10 && !replies.has(id); i++) {
    const answered = new Promise<void>((resolve) => waiting.set(id, resolve));
    // A quiet spell that loses the race goes on by itself until the sockets are quiet; it has nothing to fail.
    await Promise.race([answered, quiesce(activity).catch(() => {})]);
    waiting.delete(id);
    if (!replies.has(id)) clock.advance(1000);
  }
  return replies.get(id);
}

let nextId = 0;
const dropped: number[] = [];

describe('ballast over loopback sockets, fuzzed from both sides', () => {
  it(`every query answered well-formed with upstream records only, drops dropped, nothing thrown (${runs(1_500)})`, async () => {
    const args = fc.tuple(datagram, responsePlan, sometimesBroken, fc.constantFrom<'udp' | 'tcp'>('udp', 'udp', 'tcp'));
    await fc.assert(
      fc.asyncProperty(args, async ([bytes, plan, brk, via]) => {
        current = { plan, brk };
        const raw = Buffer.from(bytes);
        const id = nextId++ & 0xffff;
        if (raw.length >= 2) raw.writeUInt16BE(id, 0);
        // An empty TCP frame ends the connection (RFC 7766 has none); that case is proxy.test.ts's.
        const transport = raw.length === 0 ? 'udp' : via;
        replies.delete(id);
        const q = parseQuery(raw);
        if (transport === 'udp') udp.send(raw, b.port, '127.0.0.1');
        else tcp.write(frame(raw));
        if (isRejection(q) && q.rcode === undefined) {
          dropped.push(id);
          return;
        }
        const reply = await replyTo(id);
        must(reply !== undefined, 'no reply to a query ballast must answer');
        if (!isRejection(q)) checkReply(q, reply, transport, sent);
        else same(strictDecode(reply).id, id, 'error reply ID');
        must(errors.length === 0, () => `ballast logged an error: ${errors[0]}`);
      }),
      fuzz(1_500),
    );
    // Anything for the dropped ones would have come by now, behind the later replies.
    for (const id of dropped) must(!replies.has(id), `a reply to ${id}, which ballast should have dropped`);
    must(errors.length === 0, () => `ballast logged an error: ${errors[0]}`);
  });
});
