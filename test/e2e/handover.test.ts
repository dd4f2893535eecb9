// Zero-downtime rollout over real sockets (docs/design.md §7): B binds A's DNS and admin addresses (SO_REUSEPORT), A gets
// SIGTERM and exits 0, and no lookup by a client with a 1 s timeout and 2 attempts fails. bench/handover.js runs the
// same driver at a higher rate and reports first attempts lost.
import { describe, expect, it } from 'vitest';
import { runHandover } from '../../bench/handover.js';
import { ensureBuilt } from '../helpers/cli.js';

describe('handover between two instances on the same addresses', () => {
  it('loses no lookup (1 s timeout, 2 attempts), over UDP and TCP, and A exits 0', async () => {
    ensureBuilt();
    const r = await runHandover({ seconds: 6, rate: 100 });
    expect(r.aExit).toBe(0);
    expect(r.timeline.map(([what]) => what)).toEqual([
      'B started on the same addresses',
      'SIGTERM to A',
      'A exited with 0',
    ]);
    expect(r.stats.udp.lookups).toBeGreaterThan(300);
    expect(r.stats.tcp.lookups).toBeGreaterThan(60);
    expect(r.stats.udp.failed).toBe(0);
    expect(r.stats.tcp.failed).toBe(0);
  });
});
