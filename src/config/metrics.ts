import { Counter, type Registry } from '../observe/prom.js';

export type ConfigMetrics = ReturnType<typeof createConfigMetrics>;

/** Configuration metrics (docs/design.md §8). */
export function createConfigMetrics(registry: Registry) {
  return {
    reloads: new Counter({
      name: 'ballast_config_reloads_total',
      help: 'Configuration reloads (SIGHUP or a changed file), by result (success, rejected, failure).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
