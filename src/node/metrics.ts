import { Counter, type Registry } from '../observe/prom.js';

/** The `kind` label of ballast_node_setup_errors_total: a fixed set. */
export type NodeErrorKind = 'interface' | 'address' | 'iptables' | 'xtables_lock' | 'backend' | 'teardown' | 'lock';

/** The `kind` label of ballast_node_repairs_total. */
export type NodeRepairKind = 'interface' | 'address' | 'rule';

export interface NodeMetrics {
  readonly errors: Counter<'kind'>;
  readonly repairs: Counter<'kind'>;
}

/**
 * The node networking metrics. Ballast makes them at construction, so they are listed even with node setup off, and
 * hands them to its NodeNetwork.
 */
export function createNodeMetrics(registry: Registry): NodeMetrics {
  const registers = [registry];
  const errors = new Counter({
    name: 'ballast_node_setup_errors_total',
    help:
      'Node networking steps that failed, by kind: interface, address, iptables, xtables_lock (gave up waiting ' +
      'for the lock), backend (no usable iptables), teardown, lock (instance directory or node lock).',
    labelNames: ['kind'] as const,
    registers,
  });
  const repairs = new Counter({
    name: 'ballast_node_repairs_total',
    help: 'Interface, address or iptables rule found missing by a resync after setup, and added back, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  return { errors, repairs };
}
