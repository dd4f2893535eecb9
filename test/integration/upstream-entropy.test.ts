// An off-path attacker must guess a query's message ID and UDP source port to forge its answer (RFC 5452 §4, §9.2).
// ballast sends N queries to an upstream on loopback that records both; their distribution must cover the space
// and pass a chi-square uniformity check. Fixed N, and bounds far out in the tail (p < 1e-12 for a uniform source,
// while a sequential or fixed one misses them by orders of magnitude), so the test cannot flake.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { encode, optRecord } from '../fuzz/model.js';
import { labelsAt, questionEndOf } from '../fuzz/oracle.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { buildQuery, Packet, udpBulk } from '../helpers/client.js';
import { type HostileUpstream, startHostileUpstream } from '../helpers/hostile.js';

const N = 2048;
const BUCKETS = 16;
/** χ² with 15 degrees of freedom: mean 15, sd 5.5. P(χ² > 100) is about 1e-14 for a uniform source. */
const CHI2_BOUND = 100;

/** χ² of `values` in [lo, hi] over BUCKETS equal buckets, and the bucket counts. */
function chiSquare(values: number[], lo: number, hi: number): { chi2: number; counts: number[] } {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const v of values) counts[Math.min(BUCKETS - 1, Math.floor(((v - lo) / (hi - lo + 1)) * BUCKETS))]++;
  const expected = values.length / BUCKETS;
  return { chi2: counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0), counts };
}

/** Pairs of consecutive values less than 16 apart: about N·31/range for a uniform source, ~N for a counter. */
const closePairs = (values: number[]) => values.slice(1).filter((v, i) => Math.abs(v - values[i]) < 16).length;

describe('the message IDs and source ports of ballast’s upstream queries (RFC 5452)', () => {
  let up: HostileUpstream;
  let b: Running;

  beforeAll(async () => {
    up = await startHostileUpstream((q) => {
      const end = questionEndOf(q.raw);
      const question = [{ name: labelsAt(q.raw), type: q.raw.readUInt16BE(end - 4), klass: 1 }];
      q.reply(encode({ id: q.id, flags: 0x8183, question, records: [optRecord(1232)] }).bytes);
    });
    // The manual clock keeps retransmissions out: one attempt, one ID and one port per name.
    b = await startBallast({ upstream: { servers: [up.address] } }, { clock: new ManualClock() });
  });
  afterAll(async () => {
    await b.close();
    await up.close();
  });

  it(`${N} queries: IDs and source ports spread over their whole range, uniformly, in no order`, async () => {
    for (let start = 0; start < N; start += 256) {
      const msgs = Array.from({ length: 256 }, (_, i) =>
        buildQuery(`n${start + i}.entropy.test`, Packet.TYPE.A, { id: i }),
      );
      const results = await udpBulk(b.port, msgs, { waitMs: 10_000 });
      expect(results.every((r) => r.answer !== null)).toBe(true);
    }
    const sent = up.queries.filter((q) => q.transport === 'udp' && q.raw.includes(Buffer.from('\x07entropy')));
    expect(sent).toHaveLength(N);
    const ids = sent.map((q) => q.id);
    const ports = sent.map((q) => q.port);
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

    const idStats = chiSquare(ids, 0, 0xffff);
    const portStats = chiSquare(ports, lo, hi);
    console.info(
      `${N} upstream queries: ID χ²=${idStats.chi2.toFixed(1)} buckets ${idStats.counts.join(' ')}; ` +
        `source port (${lo}–${hi}) χ²=${portStats.chi2.toFixed(1)} buckets ${portStats.counts.join(' ')}`,
    );
    expect(idStats.chi2, `ID buckets ${idStats.counts}`).toBeLessThan(CHI2_BOUND);
    expect(portStats.chi2, `port buckets ${portStats.counts}`).toBeLessThan(CHI2_BOUND);
    // Distinct values: about 30 repeats among 2,048 uniform 16-bit IDs, about 75 among ~28,000 ports.
    expect(new Set(ids).size).toBeGreaterThan(N - 150);
    expect(new Set(ports).size).toBeGreaterThan(N - 400);
    // No sequence: a counter (or a port allocator that counts up) would put almost every pair close together.
    expect(closePairs(ids)).toBeLessThan(50);
    expect(closePairs(ports)).toBeLessThan(50);
    for (const p of ports) expect(p >= lo && p <= hi).toBe(true);
  });
});
