// Ballast's lifecycle (src/ballast.ts): close() drains and is idempotent; destroy() stops at once, also in the middle
// of a close() that is waiting out its drain period. Real sockets; the drain period runs on the injected clock.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, query } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const A = 1;

let upstream: FakeUpstream | undefined;
let b: Running | undefined;
afterEach(async () => {
  await b?.ballast.destroy();
  await upstream?.close();
  b = upstream = undefined;
});

async function running(clock?: ManualClock) {
  upstream = await startFakeUpstream({ records: { 'svc.test/1': [a('svc.test', '10.0.0.1')] } });
  b = await startBallast({ upstream: { servers: [upstream.address] }, server: { drainPeriodMs: 10_000 } }, { clock });
  return b;
}

const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/ready`)).status;

describe('Ballast lifecycle', () => {
  it('close() is idempotent, and afterwards nothing answers', async () => {
    const { ballast, port } = await running();
    expect(header((await query(port, 'svc.test', A)).raw).rcode).toBe(0);
    const first = ballast.close();
    expect(ballast.close()).toBe(first);
    await first;
    await expect(query(port, 'svc.test', A, {}, '127.0.0.1', 300)).rejects.toThrow();
  });

  it('close({ drainPeriod }) keeps answering but is not ready; destroy() cuts the drain short', async () => {
    const clock = new ManualClock(Date.now());
    const { ballast, port, adminPort } = await running(clock);
    const closed = ballast.close({ drainPeriod: true });
    let done = false;
    void closed.then(() => (done = true));
    expect(await ready(adminPort)).toBe(503);
    expect(header((await query(port, 'svc.test', A)).raw).rcode).toBe(0);
    expect(done).toBe(false); // the drain period has not run out on the injected clock

    const destroyed = ballast.destroy();
    expect(ballast.destroy()).toBe(destroyed);
    await destroyed;
    await closed;
    await expect(query(port, 'svc.test', A, {}, '127.0.0.1', 300)).rejects.toThrow();
  });

  it('close({ drainPeriod }) ends when the drain period has passed on its clock', async () => {
    const clock = new ManualClock(Date.now());
    const { ballast } = await running(clock);
    const closed = ballast.close({ drainPeriod: true });
    clock.advance(10_000);
    await closed;
  });
});

describe('Ballast after close()', () => {
  it('leaves no timer behind, so the process exits as soon as it has stopped', async () => {
    const clock = new ManualClock();
    const { ballast, port } = await running(clock);
    expect(header((await query(port, 'svc.test', A)).raw).rcode).toBe(0);
    expect(clock.pending).toBe(3); // the loop check's watch, the sweeper, the upstream's health
    await ballast.close();
    expect(clock.pending).toBe(0);
  });
});
