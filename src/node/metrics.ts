import { Counter, type Registry } from '../observe/prom.js';

/** The `kind` label of ballast_node_setup_errors_total: a fixed set. */
export type NodeErrorKind = 'interface' | 'address' | 'iptables' | 'xtables_lock' | 'backend' | 'teardown' | 'lock';

/** The `kind` label of ballast_node_repairs_total. */
export type NodeRepairKind = 'interface' | 'address' | 'rule';

export interface NodeMetrics {
  readonly errors: Counter<'kind'>;
  readonly repairs: Counter<'kind'>;
}

const ERRORS = 'ballast_node_setup_errors_total';
const REPAIRS = 'ballast_node_repairs_total';

/**
 * The node networking metrics, registered once per registry: Ballast registers them at construction (so they are
 * listed even with node setup off) and NodeNetwork picks up the same objects.
 */
export function createNodeMetrics(registry: Registry): NodeMetrics {
  const registers = [registry];
  const errors =
    (registry.getSingleMetric(ERRORS) as Counter<'kind'> | undefined) ??
    new Counter({
      name: ERRORS,
      help:
        'Node networking steps that failed, by kind: interface, address, iptables, xtables_lock (gave up waiting ' +
        'for the lock), backend (no usable iptables), teardown, lock (instance directory or node lock).',
      labelNames: ['kind'] as const,
      registers,
    });
  const repairs =
    (registry.getSingleMetric(REPAIRS) as Counter<'kind'> | undefined) ??
    new Counter({
      name: REPAIRS,
      help: 'Interface, address or iptables rule found missing by a resync after setup, and added back, by kind.',
      labelNames: ['kind'] as const,
      registers,
    });
  return { errors, repairs };
}
