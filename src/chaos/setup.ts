import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from '../observe/prom.js';
import type { TransportInterceptor } from '../upstream/index.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { chaosRoute } from './admin.js';
import { FaultInjector } from './faults.js';
import { faultInterceptor } from './interceptor.js';

export interface ChaosSettings {
  readonly enabled: boolean;
  readonly maxDurationSeconds: number;
  readonly tokenFile?: string;
}

/**
 * Chaos for one ballast (docs/design.md §9): the active faults, the interceptor that plays them on upstream traffic
 * (only when chaos is enabled) and the admin routes that manage them. The fault gauge exists either way, so
 * /metrics lists the same series everywhere.
 */
export class Chaos {
  private readonly injector: FaultInjector;

  constructor(
    private readonly deps: { clock: Clock; random: Random; log: Logger; registry: Registry },
    settings: ChaosSettings,
  ) {
    this.injector = new FaultInjector(settings.maxDurationSeconds, deps.clock, deps.log, deps.registry);
  }

  /** The transport interceptor for upstreams, or undefined when chaos is off. */
  interceptor(settings: ChaosSettings): TransportInterceptor | undefined {
    return settings.enabled ? faultInterceptor(this.injector, this.deps.clock, this.deps.random) : undefined;
  }

  /** The /chaos routes of the admin server. */
  route(
    settings: ChaosSettings,
    names: (limit: number) => { name: string; type: number }[],
  ): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean> {
    const opts = {
      enabled: settings.enabled,
      injector: this.injector,
      tokenFile: settings.tokenFile,
      names,
    };
    return (req, res, path) => chaosRoute(opts, req, res, path);
  }

  /** Ends every fault (at shutdown). */
  clear(): void {
    this.injector.clear();
  }
}
