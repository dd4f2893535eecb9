// What counts against an upstream, for one zone, as timelines on an injected clock (docs/resilience.md, "What
// failed"): the evidence that turns outcomes about names into a verdict about the transport, the state machine a
// verdict starts (only a probe of the zone's SOA takes it down), probing about once a second while down, and the
// in-flight window that REFUSED in many domains halves.
import { describe, expect, it } from 'vitest';
import { Health, type HealthState, InflightWindow, RttEstimator, TransportEvidence } from '../../src/upstream/index.js';
import { ManualClock } from '../../src/util/clock.js';

const evidenceOpts = { silenceMs: 2000, transportErrors: 3, failureRatio: 0.9, minNames: 20, minDomains: 3 };

function evidence() {
  const clock = new ManualClock(0);
  const verdicts: string[] = [];
  const e = new TransportEvidence(evidenceOpts, clock, (why) => verdicts.push(why));
  return { clock, e, verdicts };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('TransportEvidence: what is not about one name', () => {
  it('silence: no answer to anything for silenceMs while queries are out', async () => {
    const { clock, e, verdicts } = evidence();
    e.sent('a');
    clock.advance(1999);
    e.attempt('silence', 'a', 'd');
    expect(verdicts).toEqual([]);
    clock.advance(1);
    await flush(); // the silence timer decides after pending I/O
    expect(verdicts).toEqual(['no answer to any query for 2000 ms']);
  });

  it('any answer, whatever its rcode, proves the transport alive and restarts the silence clock', async () => {
    const { clock, e, verdicts } = evidence();
    e.sent('servfail.example');
    clock.advance(1500);
    e.attempt('name_failed', 'servfail.example', 'example');
    e.sent('x');
    clock.advance(1500);
    e.attempt('silence', 'x', 'd');
    await flush();
    expect(verdicts).toEqual([]);
  });

  it('an answer while other attempts are still out restarts the silence clock; it does not stop it', async () => {
    const { clock, e, verdicts } = evidence();
    const slow = e.sent('slow')!; // a slow name: out for good
    const fast = e.sent('fast')!;
    clock.advance(500);
    e.attempt('alive', 'fast', 'd'); // one answer, 0.5 s in
    e.ended(fast, 'fast');
    clock.advance(1999);
    await flush();
    expect(verdicts).toEqual([]);
    clock.advance(1);
    await flush();
    expect(verdicts).toEqual(['no answer to any query for 2000 ms']);
    clock.advance(10_000);
    await flush();
    expect(verdicts).toHaveLength(1); // once, not again and again while it stays silent
    e.ended(slow, 'slow'); // the slow one gives up: nothing is out, nothing is timed
    e.sent('other');
    clock.advance(1999);
    await flush();
    expect(verdicts).toHaveLength(1);
  });

  it('names out when the route was found alive are explained: a slow name, resent, is not a silence again', async () => {
    const { clock, e, verdicts } = evidence();
    const slow = e.sent('slow')!;
    clock.advance(2000);
    await flush();
    expect(verdicts).toHaveLength(1); // suspect; its probe is answered:
    e.reset();
    expect(e.sent('slow')).toBeUndefined(); // its retransmission is not counted
    clock.advance(10_000);
    await flush();
    expect(verdicts).toHaveLength(1);
    e.ended(slow, 'slow'); // the old attempt ends: nothing changes for the new generation
    const next = e.sent('other')!;
    clock.advance(2000);
    await flush();
    expect(verdicts).toHaveLength(2); // another name, silent for silenceMs: a new verdict
    e.ended(next, 'other');
    e.deadline('slow', 'd'); // its deadline passed: the next query for it counts again
    expect(e.sent('slow')).toBeDefined();
  });

  it('transport errors in a row; an answer in between resets the run', () => {
    const { e, verdicts } = evidence();
    e.attempt('transport_error', 'a', 'd');
    e.attempt('transport_error', 'a', 'd');
    e.attempt('alive', 'b', 'd');
    e.attempt('transport_error', 'a', 'd');
    e.attempt('transport_error', 'a', 'd');
    expect(verdicts).toEqual([]);
    e.attempt('transport_error', 'a', 'd');
    expect(verdicts).toEqual(['3 transport errors in a row']);
  });

  it('failures for ≥ 90 % of ≥ 20 distinct names from ≥ 3 domains; not one name repeated, not one domain', () => {
    const one = evidence();
    for (let i = 0; i < 100; i++) one.e.attempt('name_failed', 'same-name', 'example');
    expect(one.verdicts).toEqual([]);
    // 200 names of one broken domain (its authority answers SERVFAIL): that domain's trouble, not the upstream's.
    const domain = evidence();
    for (let i = 0; i < 200; i++) domain.e.deadline(`n${i}.partner.example`, 'partner.example');
    expect(domain.verdicts).toEqual([]);
    const many = evidence();
    many.e.attempt('alive', 'ok0', 'a');
    many.e.attempt('alive', 'ok1', 'a');
    for (let i = 0; i < 17; i++) many.e.deadline(`n${i}`, `d${i % 3}`);
    expect(many.verdicts).toEqual([]); // 19 distinct names: below minNames
    many.e.attempt('name_failed', 'n17', 'd0');
    expect(many.verdicts).toEqual(['failures for 18 of the last 20 distinct names, from 3 domains']);
  });

  it('a name that fails and then answers counts once, by its latest outcome', () => {
    const { e, verdicts } = evidence();
    for (let i = 0; i < 19; i++) e.attempt('name_failed', `n${i}`, `d${i % 3}`);
    for (let i = 0; i < 19; i++) e.attempt('alive', `n${i}`, `d${i % 3}`);
    e.attempt('name_failed', 'n19', 'd0');
    expect(verdicts).toEqual([]);
  });
});

function health(float = 0.999) {
  const clock = new ManualClock(0);
  const probes: number[] = [];
  let alive = false;
  const states: [HealthState, string][] = [];
  const h = new Health(
    { probeIntervalMs: 1000 },
    clock,
    { float: () => float, id16: () => 0 },
    async () => {
      probes.push(clock.now());
      return alive;
    },
    (s, why) => states.push([s, why]),
  );
  return { clock, probes, states, h, setAlive: (v: boolean) => (alive = v) };
}

describe('Health: suspect, down, and back', () => {
  it('a verdict makes it suspect and sends one probe at once; traffic still flows; an answered probe closes it', async () => {
    const { h, probes, states, setAlive } = health();
    const epoch = h.epoch;
    setAlive(true);
    h.suspect('no answer to any query for 1000 ms');
    expect(h.state).toBe('suspect');
    expect(h.acceptsTraffic).toBe(true);
    expect(probes).toEqual([0]);
    await flush();
    expect(h.state).toBe('closed');
    expect(h.epoch).toBe(epoch); // never down, so no new epoch
    expect(states.map(([s]) => s)).toEqual(['suspect', 'closed']);
  });

  it('a failed probe opens it; then one probe at a time, each in [0.75, 1.25] s after the last; an answer closes it', async () => {
    const { clock, probes, h, setAlive, states } = health(0.999);
    const before = h.epoch;
    h.suspect('3 transport errors in a row');
    await flush(); // the suspect probe fails
    expect(h.state).toBe('open');
    expect(h.acceptsTraffic).toBe(false);
    probes.length = 0;
    for (let n = 0; n < 20; n++) {
      clock.advance(1249); // float 0.999: 750 + 499.5 ms
      await flush();
      expect(probes).toHaveLength(n);
      clock.advance(1);
      await flush(); // the probe fails; it re-opens and schedules the next one from now
      expect(probes).toHaveLength(n + 1);
      expect(h.state).toBe('open');
    }
    expect(states.filter(([s]) => s === 'probing').length).toBe(20);
    setAlive(true);
    clock.advance(1250);
    await flush();
    expect(h.state).toBe('closed');
    expect(h.epoch).toBeGreaterThan(before); // a recovery: holds recorded before it are void
  });

  it('a client query answered while the probe is out ends the suspicion: slow is not dead', async () => {
    const { h, states } = health();
    let answerProbe: (alive: boolean) => void = () => {};
    const slow = new Health(
      { probeIntervalMs: 1000 },
      new ManualClock(0),
      { float: () => 0.5, id16: () => 0 },
      () => new Promise<boolean>((r) => (answerProbe = r)),
      (s, why) => states.push([s, why]),
    );
    slow.suspect('no answer to any query for 1000 ms');
    slow.alive();
    expect(slow.state).toBe('closed');
    answerProbe(false); // the probe's late verdict no longer counts
    await flush();
    expect(slow.state).toBe('closed');
    expect(states.map(([s, why]) => `${s}: ${why}`)).toEqual([
      'suspect: no answer to any query for 1000 ms',
      'closed: a query was answered',
    ]);
    h.alive(); // closed already: nothing happens
    expect(h.state).toBe('closed');
  });

  it('a probe that comes back after a newer suspicion began does not decide it', async () => {
    const answers: ((alive: boolean) => void)[] = [];
    const slow = new Health(
      { probeIntervalMs: 1000 },
      new ManualClock(0),
      { float: () => 0.5, id16: () => 0 },
      () => new Promise<boolean>((r) => answers.push(r)),
      () => {},
    );
    slow.suspect('silence');
    slow.alive(); // closed by a client answer; the first probe is still out
    slow.suspect('silence again'); // a second probe
    answers[0](false); // the first probe's late failure
    await flush();
    expect(slow.state).toBe('suspect');
    answers[1](true);
    await flush();
    expect(slow.state).toBe('closed');
  });

  it('jitter: with the smallest random draw the probe comes at three quarters of the interval', async () => {
    const { clock, probes, h } = health(0);
    h.suspect('silence');
    await flush();
    probes.length = 0;
    clock.advance(749);
    await flush();
    expect(probes).toEqual([]);
    clock.advance(1);
    await flush();
    expect(probes).toEqual([750]);
  });

  it('stop() ends probing', async () => {
    const { clock, probes, h } = health(0.5);
    h.suspect('silence');
    await flush();
    h.stop();
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

describe('InflightWindow (REFUSED in many domains is congestion)', () => {
  it('halves when ≥ 8 of the last 32 answers are REFUSED in ≥ 3 domains, at most once per 100 ms', () => {
    const w = new InflightWindow(64);
    for (let i = 0; i < 7; i++) w.refused(`d${i % 3}`, 0);
    expect(w.value).toBe(64); // 7 refused: not yet overload
    w.refused('d0', 0);
    expect(w.value).toBe(32);
    w.refused('d1', 50);
    expect(w.value).toBe(32); // within 100 ms of the last decrease
    w.refused('d2', 100);
    expect(w.value).toBe(16);
  });

  it('one domain refused again and again (its policy) never moves it, however many of its names', () => {
    const w = new InflightWindow(1000);
    for (let i = 0; i < 200; i++) w.refused('policy.example', i * 10);
    expect(w.value).toBe(1000);
  });

  it('grows back in seconds: gently for 2 s above the size it was refused at, then doubling to its maximum', () => {
    const w = new InflightWindow(1000);
    let t = 0;
    while (w.value > 1) {
      for (let i = 0; i < 8; i++) w.refused(`d${i % 3}`, t);
      t += 100;
    }
    const floor = t - 100; // the last decrease
    const sizes: number[] = [];
    for (; w.value < 1000; t += 10) {
      w.good(t);
      if (sizes.at(-1) !== w.value) sizes.push(w.value);
    }
    expect(sizes.slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // up to the refused size (2), then 12.5 % a step
    expect(sizes.slice(8)).toEqual([16, 32, 64, 128, 256, 512, 1000]); // 2 s without REFUSED: doubling
    expect(t - floor).toBeLessThanOrEqual(4_000);
  });

  it('while the server keeps refusing, it grows gently past the size it was refused at instead of doubling', () => {
    const w = new InflightWindow(1000);
    for (const t of [0, 100, 200, 300]) for (let i = 0; i < 8; i++) w.refused(`d${i % 3}`, t);
    expect(w.value).toBe(62); // 1000 → 500 → 250 → 125 → 62: refused last at 125
    const sizes: number[] = [];
    for (let t = 550; t <= 1550; t += 250) {
      w.good(t);
      sizes.push(w.value);
    }
    expect(sizes).toEqual([124, 125, 141, 159, 179]);
  });
});
