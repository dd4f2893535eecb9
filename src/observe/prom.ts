import { getHeapStatistics } from 'node:v8';
import type * as Prom from 'prom-client';
import counter from 'prom-client/lib/counter.js';
import gauge from 'prom-client/lib/gauge.js';
import histogram from 'prom-client/lib/histogram.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';
import registryClass from 'prom-client/lib/registry.js';

/**
 * prom-client's metric classes, imported from the package's own modules instead of its index (docs/performance.md
 * §2). The index also loads the Pushgateway client (http, https, and with them TLS), the cluster aggregator and every
 * default metric, with OpenTelemetry for exemplars: about 15 MiB of resident memory in every ballast, for code
 * ballast never runs. The classes are the same; only what is loaded differs. Static imports, so that the build's
 * bundle (dist/bundle.js) holds them too; a prom-client upgrade that moves a path fails the build and the tests.
 */
export const Registry = registryClass as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = counter as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type CounterConfiguration<T extends string> = Prom.CounterConfiguration<T>;
export const Gauge = gauge as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = histogram as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;

/** One of prom-client's default-metric modules: registers its metrics on `registry` under `prefix`. */
type DefaultMetric = (registry: Prom.Registry, config: { prefix: string }) => void;

/**
 * The process and Node.js metrics ballast exports (docs/metrics.md): prom-client's own modules, one by one, minus
 * the three that cost more than they tell — `process_cpu_seconds_total`'s module loads OpenTelemetry (about 5 MiB)
 * for exemplars, so the three CPU counters are kept with a few lines below; `nodejs_gc_duration_seconds` observes
 * every collection through a PerformanceObserver, an allocation and a histogram update per GC, and is left out;
 * the event-loop lag module wakes the process every 10 ms, so the admin server's sampler (loop-delay.ts) exports
 * those gauges under the same names.
 */
export function registerProcessMetrics(registry: Prom.Registry, prefix: string): void {
  for (const metric of [
    processStartTime,
    osMemoryHeap,
    processOpenFileDescriptors,
    processMaxFileDescriptors,
    processHandles,
    processRequests,
    heapSizeAndUsed,
    heapSpacesSizeAndUsed,
    version,
  ]) {
    (metric as DefaultMetric)(registry, { prefix });
  }
  cpuCounters(registry, prefix);
  new Gauge({
    name: `${prefix}nodejs_heap_size_limit_bytes`,
    help: "The JS heap's limit in bytes (V8's heap_size_limit, set by --max-old-space-size and the young generation).",
    registers: [registry],
    collect() {
      this.set(getHeapStatistics().heap_size_limit);
    },
  });
}

/** process_cpu_{user,system,}_seconds_total as prom-client names them, read from process.cpuUsage() when scraped. */
function cpuCounters(registry: Prom.Registry, prefix: string): void {
  let last = process.cpuUsage();
  const registers = [registry];
  // Registered after `user`, whose collect() fills all three (a registry collects in registration order).
  let system: Prom.Counter | undefined;
  let total: Prom.Counter | undefined;
  new Counter({
    name: `${prefix}process_cpu_user_seconds_total`,
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const user = (now.user - last.user) / 1e6;
      const sys = (now.system - last.system) / 1e6;
      last = now;
      this.inc(user);
      system?.inc(sys);
      total?.inc(user + sys);
    },
  });
  system = new Counter({
    name: `${prefix}process_cpu_system_seconds_total`,
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  total = new Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}
