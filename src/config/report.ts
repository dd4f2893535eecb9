import type { Logger } from 'pino';
import type { Registry } from '../observe/prom.js';
import { createConfigMetrics } from './metrics.js';

/**
 * How the running configuration is reported: one line at start, and for every reload, whatever triggered it (SIGHUP,
 * a changed file), one log line and one count per outcome (docs/design.md §8).
 */
export class ConfigReport {
  private readonly metrics;

  constructor(
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.metrics = createConfigMetrics(registry);
  }

  /** ballast is serving: where, towards which upstreams, with which cache bounds, and where its snapshot goes. */
  started(details: { listen: string[]; admin: string; zones: unknown; cache: unknown; snapshot: string }): void {
    this.log.info(details, 'ballast started');
  }

  applied(changed: readonly string[], zones: unknown): void {
    if (changed.includes('node')) this.log.warn('node.* settings take effect at the next restart');
    this.metrics.reloads.labels('success').inc();
    this.log.info({ changed, zones }, 'config reloaded');
  }

  /** Validation passed but applying failed (a listen address in use): the running config stays. */
  failed(err: unknown, changed: readonly string[]): void {
    this.metrics.reloads.labels('failure').inc();
    this.log.error({ err, changed }, 'config reload failed; keeping the running config');
  }

  /** The new config did not validate: the running config stays. */
  rejected(message: string): void {
    this.metrics.reloads.labels('rejected').inc();
    this.log.error({ reason: message }, 'config rejected; keeping the running config');
  }
}
