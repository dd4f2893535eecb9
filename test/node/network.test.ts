// NodeNetwork's rules of conduct, on a fake host (no root needed): the exact commands it runs, what a resync
// costs, and that no failure ever escapes as a throw.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createNodeMetrics, type Exec, NodeNetwork, type NodeNetworkOptions } from '../../src/node/index.js';
import { createRegistry, silentLogger } from '../../src/observe/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { type FakeHost, fakeHost } from './fake-host.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function network(exec: Exec, overrides: Partial<NodeNetworkOptions> = {}, clock?: ManualClock) {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-node-'));
  dirs.push(dir);
  const registry = createRegistry(false);
  const net = new NodeNetwork(
    {
      localIps: ['169.254.20.10'],
      setupInterface: true,
      setupIptables: true,
      interfaceName: 'nodelocaldns',
      interfaceKind: 'dummy',
      iptablesMode: 'nft',
      resyncSeconds: 60,
      skipTeardown: false,
      instanceDir: dir,
      adminPort: 9253,
      ...overrides,
    },
    { log: silentLogger(), metrics: createNodeMetrics(registry), exec, ...(clock ? { clock } : {}) },
  );
  return { net, registry };
}

async function errors(registry: Registry): Promise<Record<string, number>> {
  const values = (await registry.getSingleMetric('ballast_node_setup_errors_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
}

const iptablesCalls = (host: FakeHost) => host.calls.filter((c) => c[0].includes('iptables'));
const ruleCount = (host: FakeHost) => [...host.rules.values()].flat().length;

describe('NodeNetwork on a fake host', () => {
  it('runs every iptables command with a bounded xtables wait, checks before it inserts, and prepends', async () => {
    const host = fakeHost();
    const { net } = network(host.exec);
    const report = await net.setup();
    expect(report.failed).toBe(0);
    expect(ruleCount(host)).toBe(13);
    const ops = iptablesCalls(host).filter((c) => c[1] !== '-V');
    for (const c of ops) expect(c.slice(1, 3)).toEqual(['-w', '5']);
    expect(ops.some((c) => c.includes('-A'))).toBe(false);
    for (const c of ops.filter((c) => c.includes('-I'))) {
      const check = c.map((w) => (w === '-I' ? '-C' : w));
      expect(ops.findIndex((o) => o.join(' ') === check.join(' '))).toBeLessThan(ops.indexOf(c));
    }
    expect(host.link).toMatchObject({ kind: 'dummy', alias: 'ballast', up: true });
    expect([...host.link!.addresses]).toEqual(['169.254.20.10']);
    await net.teardown();
    expect(ruleCount(host)).toBe(0);
    expect(host.link).toBeUndefined();
  });

  it('costs one listing per chain and one `ip` per resync when nothing changed', async () => {
    const host = fakeHost();
    const { net } = network(host.exec);
    await net.setup();
    host.calls.length = 0;
    expect(await net.resync()).toEqual({ added: [], failed: 0 });
    // raw PREROUTING, raw OUTPUT, filter INPUT, filter OUTPUT.
    expect(iptablesCalls(host).map((c) => c.slice(3).join(' '))).toEqual([
      '-t raw -S PREROUTING',
      '-t filter -S INPUT',
      '-t raw -S OUTPUT',
      '-t filter -S OUTPUT',
    ]);
    expect(host.calls.filter((c) => c[0] === 'ip')).toHaveLength(1);
    await net.teardown();
  });

  it('falls back to -C when iptables prints rules differently, and still never duplicates', async () => {
    const host = fakeHost();
    host.reorder = true;
    const { net } = network(host.exec);
    await net.setup();
    await net.resync();
    await net.resync();
    expect(ruleCount(host)).toBe(13);
    await net.teardown();
    expect(ruleCount(host)).toBe(0);
  });

  it('removes every copy of its rules at teardown (kubernetes/dns#568 left duplicates behind)', async () => {
    const host = fakeHost();
    const { net } = network(host.exec);
    await net.setup();
    for (const [key, list] of host.rules) host.rules.set(key, [...list, ...list]);
    host.rules.get('4 raw PREROUTING')!.push('-A PREROUTING -p udp --dport 5353 -j NOTRACK');
    await net.teardown();
    expect([...host.rules.values()].flat()).toEqual(['-A PREROUTING -p udp --dport 5353 -j NOTRACK']);
  });

  it('never throws: failed commands, a rejecting executor and a missing backend are logged and counted', async () => {
    // No CAP_NET_ADMIN, no iptables program: the interface cannot be made, so no address is local and no rule
    // may go in; the backend is still looked for, to withdraw any rules left behind.
    const host = fakeHost([]);
    host.override = (file, args) =>
      file === 'ip' && args[0] === 'link'
        ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted' }
        : undefined;
    const { net, registry } = network(host.exec);
    await expect(net.setup()).resolves.toEqual({ added: [], failed: 2 });
    expect(await errors(registry)).toEqual({ interface: 1, backend: 1 });

    // An executor that rejects: the interface cannot even be read, so the rules are left as they are.
    const rejecting: Exec = () => Promise.reject(new Error('spawn EAGAIN'));
    const second = network(rejecting, { iptablesMode: 'auto' });
    await expect(second.net.setup()).resolves.toEqual({ added: [], failed: 1 });
    await expect(second.net.teardown()).resolves.toEqual({ removed: [] });
    expect(await errors(second.registry)).toEqual({ interface: 1, teardown: 2 });
  });

  it('withdraws the rules of a local IP whose address is gone and cannot be put back', async () => {
    const host = fakeHost();
    const { net } = network(host.exec, { localIps: ['169.254.20.10', '10.96.0.10'] });
    await net.setup();
    expect(ruleCount(host)).toBe(26);
    host.link!.addresses.delete('10.96.0.10');
    host.override = (file, args) =>
      file === 'ip' && args.includes('10.96.0.10/32')
        ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Permission denied' }
        : undefined;
    expect(await net.resync()).toEqual({ added: [], failed: 1 });
    expect([...host.rules.values()].flat().filter((l) => l.includes('10.96.0.10'))).toEqual([]);
    expect(ruleCount(host)).toBe(13);
    host.override = undefined;
    expect((await net.resync()).added).toHaveLength(14);
    expect(ruleCount(host)).toBe(26);
    await net.teardown();
  });

  it('counts a held xtables lock apart from other iptables failures', async () => {
    const host = fakeHost();
    host.override = (file, args) =>
      file === 'iptables-nft' && args.includes('-I')
        ? {
            code: 4,
            stdout: '',
            stderr: 'Another app is currently holding the xtables lock. Stopped waiting after 5s.',
          }
        : file === 'ip6tables-nft' && args[0] !== '-V'
          ? { code: 2, stdout: '', stderr: 'ip6tables v1.8.9 (nf_tables): unexpected' }
          : undefined;
    const { net, registry } = network(host.exec, { localIps: ['169.254.20.10', 'fd00::10'], setupInterface: false });
    const report = await net.setup();
    expect(report.failed).toBe(26);
    expect(await errors(registry)).toEqual({ xtables_lock: 13, iptables: 13 });
    host.override = undefined;
    expect(await net.resync()).toMatchObject({ failed: 0 });
    expect(ruleCount(host)).toBe(26);
    await net.teardown();
  });

  it('resyncs every resyncSeconds until stopped, and counts what it had to put back', async () => {
    const clock = new ManualClock();
    const host = fakeHost();
    const { net, registry } = network(host.exec, { resyncSeconds: 30 }, clock);
    await net.setup();
    net.start();
    host.rules.set('4 raw PREROUTING', []);
    host.link!.addresses.clear();
    clock.advance(30_000);
    await vi.waitFor(() => expect(ruleCount(host)).toBe(13));
    await vi.waitFor(() => expect(host.link!.addresses.size).toBe(1));
    const repairs = (await registry.getSingleMetric('ballast_node_repairs_total')!.get()).values;
    expect(Object.fromEntries(repairs.map((v) => [v.labels.kind, v.value]))).toEqual({ rule: 3, address: 1 });

    await vi.waitFor(() => expect(clock.pending).toBe(1));
    net.stop();
    expect(clock.pending).toBe(0);
    host.calls.length = 0;
    clock.advance(120_000);
    expect(host.calls).toEqual([]);
    await net.teardown();
  });

  it('tells listeners after each pass, and a listener that throws changes nothing', async () => {
    const host = fakeHost();
    const { net } = network(host.exec);
    const passes: number[] = [];
    net.onSync(() => {
      passes.push(ruleCount(host));
    });
    net.onSync(() => {
      throw new Error('bind failed');
    });
    await net.prepare();
    await expect(net.setup()).resolves.toEqual({ added: expect.any(Array), failed: 0 });
    await net.resync();
    expect(passes).toEqual([0, 13, 13]);
    await net.teardown();
  });

  it('does nothing at all when both setups are off', async () => {
    const host = fakeHost();
    const { net } = network(host.exec, { setupInterface: false, setupIptables: false });
    expect(await net.setup()).toEqual({ added: [], failed: 0 });
    net.start();
    expect(await net.teardown()).toEqual({ skipped: 'node setup is off', removed: [] });
    expect(host.calls).toEqual([]);
  });

  it('adds the admin rules only for a real admin port', async () => {
    for (const [adminPort, count] of [
      [undefined, 10],
      [0, 10],
      [53, 10],
      [9253, 13],
    ] as const) {
      const host = fakeHost();
      const { net } = network(host.exec, { adminPort, setupInterface: false });
      await net.setup();
      expect(ruleCount(host)).toBe(count);
      await net.teardown();
    }
  });
});
