import { Counter, Gauge, type Registry } from '../observe/prom.js';

export type PersistMetrics = ReturnType<typeof createPersistMetrics>;

export function createPersistMetrics(registry: Registry) {
  const registers = [registry];
  return {
    writes: new Counter({
      name: 'ballast_snapshot_writes_total',
      help: 'Cache snapshots written, by result (success, failure).',
      labelNames: ['result'] as const,
      registers,
    }),
    loads: new Counter({
      name: 'ballast_snapshot_loads_total',
      help:
        'Snapshot loads at start, by result: success, missing, oversized, foreign, future_version, truncated, ' +
        'corrupt, failure (unreadable).',
      labelNames: ['result'] as const,
      registers,
    }),
    lastWrite: new Gauge({
      name: 'ballast_snapshot_last_write_timestamp_seconds',
      help: 'When the last snapshot was written successfully (Unix time); alert on its age.',
      registers,
    }),
    size: new Gauge({
      name: 'ballast_snapshot_size_bytes',
      help: 'Size of the last snapshot written.',
      registers,
    }),
    entries: new Gauge({
      name: 'ballast_snapshot_entries',
      help: 'Entries in the last snapshot written, or loaded at start.',
      registers,
    }),
    loadDuration: new Gauge({
      name: 'ballast_snapshot_load_duration_seconds',
      help: 'How long loading the snapshot took at start.',
      registers,
    }),
  };
}
