import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry per ballast instance, passed to every component (no global registration, so tests can run many
 * instances in one process), with Node's process metrics under the ballast_ prefix.
 */
export function createRegistry(withDefaults = true): Registry {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'ballast_' });
  return registry;
}
