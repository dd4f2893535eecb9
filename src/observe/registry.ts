import { Registry, registerProcessMetrics } from './prom.js';

/**
 * A registry per ballast instance, passed to every component (no global registration, so tests can run many
 * instances in one process), with Node's process metrics under the ballast_ prefix (observe/prom.ts says which).
 */
export function createRegistry(withDefaults = true): Registry {
  const registry = new Registry();
  if (withDefaults) registerProcessMetrics(registry, 'ballast_');
  return registry;
}
