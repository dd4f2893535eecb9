// Zone matching (src/upstream/zones.ts): longest suffix on label boundaries, and no name string read when the root
// zone is the only one (a stale answer during an outage then builds none).
import { describe, expect, it } from 'vitest';
import type { Zone } from '../../src/upstream/index.js';
import { ZoneTable } from '../../src/upstream/zones.js';
import { encodeName } from '../../src/wire/index.js';

const zone = (name: string): Zone => ({
  name,
  labels: name === '.' ? 0 : name.split('.').length,
  routes: [],
  protocol: 'udp',
  deadlineMs: 4000,
  lastKnownGood: 'correlated',
  selector: {} as Zone['selector'],
});
const wire = (name: string) => encodeName(name).toString('latin1');

/** A query whose name is counted when read, as parseQuery builds it lazily. */
function query(name: string) {
  const q = {
    reads: 0,
    get qname() {
      q.reads++;
      return wire(name);
    },
  };
  return q;
}

describe('ZoneTable', () => {
  it('matches the longest zone on label boundaries, the root zone otherwise', () => {
    const root = zone('.');
    const cluster = zone('cluster.local');
    const svc = zone('svc.cluster.local');
    const table = new ZoneTable([root, cluster, svc]);
    expect(table.match(wire('a.b.svc.cluster.local'))).toBe(svc);
    expect(table.match(wire('pod.cluster.local'))).toBe(cluster);
    expect(table.match(wire('xcluster.local'))).toBe(root);
    expect(table.match(wire('example.com'))).toBe(root);
    const q = query('a.svc.cluster.local');
    expect(table.matchQuery(q)).toBe(svc);
    expect(q.reads).toBe(1);
  });

  it('does not read the query name when the root zone is the only one', () => {
    const root = zone('.');
    const table = new ZoneTable([root]);
    const q = query('a.svc.cluster.local');
    expect(table.matchQuery(q)).toBe(root);
    expect(q.reads).toBe(0);
  });
});
