// An upstream's health for one zone, as a timeline on an injected clock: what makes it suspect, how a probe of
// something answerable decides, and the backoff of probes while it is down (docs/design.md §4).
import { describe, expect, it } from 'vitest';
import { Health, type HealthState, InflightLimit, RttEstimator } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

const opts = {
  silenceMs: 2000,
  transportErrors: 3,
  failureRatio: 0.9,
  minNames: 20,
  probeBackoffMinMs: 500,
  probeBackoffMaxMs: 30_000,
};

function setup(float = 0.999) {
  const clock = new ManualClock(0);
  const probes: number[] = [];
  let alive = false;
  const states: [HealthState, string][] = [];
  const health = new Health(
    opts,
    clock,
    { float: () => float, id16: () => 0 },
    async () => {
      probes.push(clock.now());
      return alive;
    },
    (s, why) => states.push([s, why]),
  );
  return { clock, probes, states, health, setAlive: (v: boolean) => (alive = v) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('Health: what makes an upstream suspect', () => {
  it('silence: no answer to anything for silenceMs while queries are out; traffic still flows while it is probed', async () => {
    const { clock, health, probes, states, setAlive } = setup();
    setAlive(true);
    health.sent();
    clock.advance(1999);
    health.checkSilence();
    expect(health.state).toBe('closed');
    clock.advance(1);
    health.checkSilence();
    expect(health.state).toBe('suspect');
    expect(health.usable).toBe(true);
    expect(probes).toEqual([2000]);
    await flush();
    expect(health.state).toBe('closed');
    expect(states.map(([s]) => s)).toEqual(['suspect', 'closed']);
  });

  it('any answer, whatever its rcode, proves the transport alive and restarts the silence clock', () => {
    const { clock, health } = setup();
    health.sent();
    clock.advance(1500);
    health.answered('nx.example', false);
    health.sent();
    clock.advance(1500);
    health.checkSilence();
    expect(health.state).toBe('closed');
  });

  it('a few dead names asked again and again never open it: the probe asks something answerable', async () => {
    const { clock, health, probes, setAlive } = setup();
    setAlive(true);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 8; i++) health.sent();
      clock.advance(4000);
      for (let i = 0; i < 8; i++) health.noAnswer(`dead${i}.example`);
      await flush();
      expect(health.state).toBe('closed');
    }
    expect(probes.length).toBe(5); // one probe per silent spell, each answered
  });

  it('transport errors in a row (refused, unreachable); an answer in between resets the run', () => {
    const { health } = setup();
    health.transportError();
    health.transportError();
    health.answered('a', false);
    health.transportError();
    health.transportError();
    expect(health.state).toBe('closed');
    health.transportError();
    expect(health.state).toBe('suspect');
  });

  it('failures for ≥ 90 % of ≥ 20 recent distinct names, but not one name repeated', () => {
    const one = setup().health;
    for (let i = 0; i < 100; i++) one.answered('same-name', true);
    expect(one.state).toBe('closed');
    const many = setup().health;
    many.answered('ok0', false);
    many.answered('ok1', false);
    for (let i = 0; i < 17; i++) many.noAnswer(`n${i}`);
    expect(many.state).toBe('closed'); // 19 distinct names: below minNames
    many.answered('n17', true);
    expect(many.state).toBe('suspect'); // 18 failures of 20 distinct names: 90 %
  });
});

describe('Health: down, and back', () => {
  it('a failed probe opens it; probes follow one at a time, 0.5 s → 30 s with full jitter; an answer closes it', async () => {
    const { clock, probes, health, setAlive, states } = setup(0.999);
    for (let i = 0; i < 3; i++) health.transportError();
    await flush(); // the suspect probe fails
    expect(health.state).toBe('open');
    expect(health.usable).toBe(false);
    probes.length = 0;
    // float 0.999 → each delay is 99.9 % of its cap: 0.5 s, 1 s, 2 s … then capped at 30 s.
    const gaps = [499.5, 999, 1998, 3996, 7992, 15984, 29970, 29970];
    for (const [n, gap] of gaps.entries()) {
      clock.advance(gap - 0.5);
      await flush();
      expect(probes).toHaveLength(n);
      clock.advance(0.5);
      await flush(); // the probe fails; it re-opens and schedules the next one from now
      expect(probes).toHaveLength(n + 1);
      expect(health.state).toBe('open');
    }
    expect(states.filter(([s]) => s === 'probing').length).toBe(probes.length);
    setAlive(true);
    clock.advance(30_000);
    await flush();
    expect(health.state).toBe('closed');
  });

  it('full jitter: with a small random draw the probe comes early', async () => {
    const { clock, probes, health } = setup(0.1);
    for (let i = 0; i < 3; i++) health.transportError();
    await flush();
    probes.length = 0;
    clock.advance(50);
    await flush();
    expect(probes).toEqual([50]);
  });

  it('stop() ends probing', async () => {
    const { clock, probes, health } = setup(0.5);
    for (let i = 0; i < 3; i++) health.transportError();
    await flush();
    health.stop();
    clock.advance(60_000);
    await flush();
    expect(probes).toHaveLength(1); // only the suspect probe
  });
});

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO and follows SRTT + 4·RTTVAR within its floor and ceiling', () => {
    const rtt = new RttEstimator({ initialRtoMs: 500, minRtoMs: 200, maxRtoMs: 2000 });
    expect(rtt.rtoMs).toBe(500);
    for (let i = 0; i < 20; i++) rtt.sample(1);
    expect(rtt.rtoMs).toBe(200);
    for (let i = 0; i < 40; i++) rtt.sample(400);
    expect(rtt.rtoMs).toBeGreaterThan(400);
    expect(rtt.rtoMs).toBeLessThan(2000);
    for (let i = 0; i < 40; i++) rtt.sample(10_000);
    expect(rtt.rtoMs).toBe(2000);
  });
});

describe('InflightLimit (AIMD on REFUSED)', () => {
  it('halves when many distinct names are refused, at most once per 100 ms, and grows back by one per window', () => {
    const limit = new InflightLimit(64);
    for (let i = 0; i < 7; i++) limit.observe(`r${i}`, 0);
    expect(limit.value).toBe(64); // 7 distinct refused names: not yet overload
    limit.observe('r7', 0);
    expect(limit.value).toBe(32);
    limit.observe('r8', 50);
    expect(limit.value).toBe(32); // within 100 ms of the last decrease
    limit.observe('r9', 100);
    expect(limit.value).toBe(16);
    for (let i = 0; i < 16; i++) limit.observe(null, 200);
    expect(limit.value).toBe(17);
  });

  it('one name refused again and again (policy, not overload) changes nothing', () => {
    const limit = new InflightLimit(64);
    for (let i = 0; i < 100; i++) {
      limit.observe('refused-by-policy.example', i * 1000);
      limit.observe(null, i * 1000);
    }
    expect(limit.value).toBe(64);
  });
});
