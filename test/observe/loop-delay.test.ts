// The event-loop delay sampler (src/observe/loop-delay.ts): one native histogram read in 10 s windows, for the
// Prometheus gauges and for /health. A fake histogram stands in for node:perf_hooks, so the windows are exact.
import { describe, expect, it } from 'vitest';
import { type DelaySamples, LoopDelay, SAMPLE_MS, WINDOW_MS } from '../../src/observe/loop-delay.js';
import { Registry } from '../../src/observe/prom.js';
import { ManualClock } from '../../src/util/clock.js';

/** A histogram of the given intervals between sampler callbacks, in milliseconds. */
class FakeSamples implements DelaySamples {
  values: number[] = [];
  enabled = false;
  resets = 0;
  get count() {
    return this.values.length;
  }
  get min() {
    return Math.min(...this.values) * 1e6;
  }
  get max() {
    return Math.max(...this.values) * 1e6;
  }
  get mean() {
    return (this.values.reduce((a, b) => a + b, 0) / this.values.length) * 1e6;
  }
  get stddev() {
    return 0;
  }
  percentile(p: number) {
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] * 1e6;
  }
  reset() {
    this.values = [];
    this.resets++;
  }
  enable() {
    this.enabled = true;
    return true;
  }
  disable() {
    this.enabled = false;
    return true;
  }
}

async function gauge(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values[0].value;
}

/** A started LoopDelay over a fake histogram and a manual clock, its gauges in a registry of their own. */
function started() {
  const clock = new ManualClock();
  const samples = new FakeSamples();
  const registry = new Registry();
  const loop = new LoopDelay(samples, clock);
  loop.register(registry);
  loop.start();
  return { clock, samples, registry, loop };
}

describe('LoopDelay', () => {
  it('exports the last complete window, less the sampling interval, under prom-client names', async () => {
    const { clock, samples, registry, loop } = started();
    expect(samples.enabled).toBe(true);
    samples.values = Array.from({ length: 99 }, () => SAMPLE_MS + 1).concat([SAMPLE_MS + 250]);
    // Nothing is exported before a window completes.
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_p99_seconds')).toBe(0);
    clock.advance(WINDOW_MS);
    expect(samples.resets).toBe(1);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_min_seconds')).toBeCloseTo(0.001, 9);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_p50_seconds')).toBeCloseTo(0.001, 9);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_p99_seconds')).toBeCloseTo(0.001, 9);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_max_seconds')).toBeCloseTo(0.25, 9);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_mean_seconds')).toBeCloseTo(0.00349, 9);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_seconds')).toBeCloseTo(0.00349, 9);
    // Scraping does not reset anything: a second scraper sees the same window.
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_max_seconds')).toBeCloseTo(0.25, 9);
    // A window without samples (the sampler could not run) keeps the last figures.
    clock.advance(WINDOW_MS);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_max_seconds')).toBeCloseTo(0.25, 9);
    loop.stop();
    expect(samples.enabled).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('gives /health the worst p99 since its previous request, the window under way included', () => {
    const { clock, samples, loop } = started();
    samples.values = Array.from({ length: 100 }, () => SAMPLE_MS + 3000); // a window stalled for 3 s at a time
    clock.advance(WINDOW_MS);
    samples.values = Array.from({ length: 100 }, () => SAMPLE_MS + 2); // then a calm one, still under way
    expect(loop.takeWorstP99Ms()).toBeCloseTo(3000, 6);
    // Reported once: the next request sees only what came after.
    expect(loop.takeWorstP99Ms()).toBeCloseTo(2, 6);
    clock.advance(WINDOW_MS);
    expect(loop.takeWorstP99Ms()).toBeCloseTo(2, 6);
    samples.values = [];
    expect(loop.takeWorstP99Ms()).toBe(0);
    loop.stop();
  });

  it('never reports a negative delay when the timer fires a little early', async () => {
    const { clock, samples, registry, loop } = started();
    samples.values = [SAMPLE_MS - 0.5, SAMPLE_MS];
    clock.advance(WINDOW_MS);
    expect(await gauge(registry, 'ballast_nodejs_eventloop_lag_min_seconds')).toBe(0);
    loop.stop();
  });
});
