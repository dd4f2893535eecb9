import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Clock, systemClock, type Timer } from '../util/clock.js';
import { Gauge, type Registry } from './prom.js';

/**
 * How often the native timer samples the event loop. Each sample is the time between two of its callbacks, so a
 * stall shows in full whatever the interval; 100 ms wakes an idle process 10 times a second. prom-client's monitor
 * sampled every 10 ms and the /health monitor every 20 ms: together about 11 millicores of an idle process, on
 * every node (docs/performance.md §7).
 */
export const SAMPLE_MS = 100;
/** The window the lag metrics describe, and /health's unit of account. */
export const WINDOW_MS = 10_000;

/** What LoopDelay reads of node:perf_hooks' IntervalHistogram (nanoseconds); tests pass a fake. */
export interface DelaySamples {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  percentile(p: number): number;
  reset(): void;
  enable(): boolean;
  disable(): boolean;
}

/** One window's event-loop delay beyond the sampling interval, in seconds. */
export interface LoopDelayStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

const NONE: LoopDelayStats = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };

/**
 * Event-loop delay for both of its readers from one sampler: the Prometheus gauges (under prom-client's names)
 * describe the last complete window, so any number of scrapers see the same figures; /health takes the worst p99
 * of the windows since its previous request, the window under way included (docs/design.md §8).
 */
export class LoopDelay {
  private timer: Timer | undefined;
  private last = NONE;
  private worstP99 = 0;

  constructor(
    private readonly samples: DelaySamples = monitorEventLoopDelay({ resolution: SAMPLE_MS }),
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.samples.enable();
    const roll = () => {
      this.roll();
      this.timer = this.clock.setTimer(roll, WINDOW_MS);
    };
    this.timer = this.clock.setTimer(roll, WINDOW_MS);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.samples.disable();
  }

  /** The worst p99 in milliseconds since the previous call: of the windows completed since, and of the current one. */
  takeWorstP99Ms(): number {
    const worst = Math.max(this.worstP99, this.read()?.p99 ?? 0);
    this.worstP99 = 0;
    return worst * 1000;
  }

  /** ballast_nodejs_eventloop_lag_{,min_,max_,mean_,stddev_,p50_,p90_,p99_}seconds, from the last window. */
  register(registry: Registry): void {
    const gauge = (suffix: string, help: string, value: (w: LoopDelayStats) => number) => {
      const self = this;
      new Gauge({
        name: `ballast_nodejs_eventloop_lag_${suffix}seconds`,
        help,
        registers: [registry],
        collect() {
          this.set(value(self.last));
        },
      });
    };
    const over = 'event-loop delay over the last 10 s window, in seconds';
    gauge('', `Mean ${over} (as _mean_seconds).`, (w) => w.mean);
    gauge('min_', `Minimum ${over}.`, (w) => w.min);
    gauge('max_', `Maximum ${over}.`, (w) => w.max);
    gauge('mean_', `Mean ${over}.`, (w) => w.mean);
    gauge('stddev_', `Standard deviation of the ${over}.`, (w) => w.stddev);
    gauge('p50_', `50th percentile ${over}.`, (w) => w.p50);
    gauge('p90_', `90th percentile ${over}.`, (w) => w.p90);
    gauge('p99_', `99th percentile ${over}.`, (w) => w.p99);
  }

  private roll(): void {
    const stats = this.read();
    this.samples.reset();
    if (stats === undefined) return;
    this.last = stats;
    this.worstP99 = Math.max(this.worstP99, stats.p99);
  }

  /** The samples so far, less the sampling interval each one includes; undefined without any. */
  private read(): LoopDelayStats | undefined {
    const s = this.samples;
    if (s.count === 0) return undefined;
    const delay = (ns: number) => Math.max(0, ns / 1e6 - SAMPLE_MS) / 1000;
    return {
      min: delay(s.min),
      max: delay(s.max),
      mean: delay(s.mean),
      stddev: s.stddev / 1e9,
      p50: delay(s.percentile(50)),
      p90: delay(s.percentile(90)),
      p99: delay(s.percentile(99)),
    };
  }
}
