// A TCP upstream that breaks the stream (docs/design.md §6): it stops in the middle of an answer, sends a length
// prefix and nothing after it, or resets the connection. Each costs the query in flight a SERVFAIL, is counted
// (ballast_upstream_rejected_responses_total{reason="stalled"}, ballast_upstream_errors_total{kind="unreachable"}), and
// leaves no broken connection behind: the next query is answered on a new one.
// Time is a ManualClock, moved past the deadline by hand; health checks are set out of the way, so what is seen is
// the connection handling alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { frame } from '../../src/wire/index.js';
import { encode, optRecord } from '../fuzz/model.js';
import { labelsAt, questionEndOf } from '../fuzz/oracle.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, Packet, query } from '../helpers/client.js';
import { type HostileQuery, type HostileUpstream, startHostileUpstream } from '../helpers/hostile.js';
import { until } from '../helpers/wait.js';

const A = Packet.TYPE.A;

function good(q: HostileQuery): Buffer {
  const end = questionEndOf(q.raw);
  const name = labelsAt(q.raw);
  const a = {
    section: 0 as const,
    owner: name,
    type: A,
    klass: 1,
    ttl: 300,
    rdata: { kind: 'raw' as const, bytes: Buffer.from([192, 0, 2, 9]) },
  };
  return encode({
    id: q.id,
    flags: 0x8180,
    question: [{ name, type: q.raw.readUInt16BE(end - 4), klass: 1 }],
    records: [a, optRecord(1232)],
  }).bytes;
}

describe('a TCP upstream that breaks the stream', () => {
  const clock = new ManualClock();
  let up: HostileUpstream;
  let b: Running;

  beforeAll(async () => {
    up = await startHostileUpstream();
    b = await startBallast(
      {
        upstream: {
          servers: [up.address],
          protocol: 'tcp',
          health: { silenceMs: 600_000, transportErrors: 1000, minNames: 10_000 },
        },
        failureCache: { initialSeconds: 1 },
      },
      { clock },
    );
  });
  afterAll(async () => {
    await b.close();
    await up.close();
  });

  /**
   * Asks `name`, which the upstream meets with `misbehave`; once ballast has read the part of an answer it sent, moves
   * the clock past the 4 s deadline. Returns the rcode.
   */
  async function askPastDeadline(name: string, misbehave: (q: HostileQuery) => void): Promise<number> {
    // The first byte of an answer starts ballast's stall timer (upstream/tcp.ts watchPartial): one timer more on the
    // clock than when the bytes were written is the sign they were read.
    let timersAtWrite: number | undefined;
    up.onQuery = (q) => {
      timersAtWrite = clock.pending;
      misbehave(q);
    };
    const pending = query(b.port, name, A, {}, '127.0.0.1', 10_000);
    await until(
      () => timersAtWrite !== undefined && clock.pending === timersAtWrite + 1,
      `the start of ${name}'s answer to reach ballast`,
    );
    clock.advance(4_000);
    return header((await pending).raw).rcode;
  }

  /** The upstream answers properly again; a new name is answered, on a connection opened for it. */
  async function recovers(name: string): Promise<void> {
    const accepted = up.accepted;
    up.onQuery = (q) => q.reply(good(q));
    const r = await query(b.port, name, A);
    expect(r.packet.answers.map((a) => a.address)).toEqual(['192.0.2.9']);
    expect(up.accepted).toBe(accepted + 1);
  }

  for (const [what, misbehave] of [
    ['stops in the middle of an answer', (q: HostileQuery) => q.tcp!.write(frame(good(q)).subarray(0, 20))],
    ['sends a length prefix and nothing else', (q: HostileQuery) => q.tcp!.write(Buffer.from([0, 60]))],
  ] as const) {
    it(`${what}: SERVFAIL at the deadline, the connection closed by ballast`, async () => {
      const before = await b.metric('ballast_upstream_rejected_responses_total', { reason: 'stalled' });
      const name = `${what.split(' ')[0]}.stall.test`;
      expect(await askPastDeadline(name, misbehave)).toBe(2);
      // upstream.tcp.idleTimeoutMs (5 s) after the first byte of the answer that never ends, the connection goes.
      clock.advance(1_000);
      await until(() => up.open === 0, 'ballast to close the stalled connection');
      expect(await b.metric('ballast_upstream_rejected_responses_total', { reason: 'stalled' })).toBe(before + 1);
      await recovers(`after-${name}`);
    });
  }

  it('resets the connection: SERVFAIL at once (after one retry on a new connection), counted as an unreachable upstream (a reset)', async () => {
    const before = await b.metric('ballast_upstream_errors_total', { kind: 'unreachable' });
    up.onQuery = (q) => q.tcp!.resetAndDestroy();
    const r = await query(b.port, 'reset.test', A);
    expect(header(r.raw).rcode).toBe(2);
    // Counted once for the query, though it was sent twice, each time on a connection of its own.
    expect(await b.metric('ballast_upstream_errors_total', { kind: 'unreachable' })).toBe(before + 1);
    const sent = up.queries.filter((q) => labelsAt(q.raw).join('.').toLowerCase() === 'reset.test');
    expect(sent).toHaveLength(2);
    expect(new Set(sent.map((q) => q.tcp)).size).toBe(2);
    await recovers('after-reset.test');
  });
});
