// Choosing between iptables-nft and iptables-legacy, against the real programs in a network namespace: ballast
// must write into the backend the host's kubelet and kube-proxy use, or its "first" rules would run last.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNodeMetrics, detectBackend, modeOfVersion, NodeNetwork } from '../../src/node/index.js';
import { createRegistry, silentLogger } from '../../src/observe/index.js';
import { createNetns, listRules, type Netns, nodeEnvironment } from './netns.js';

const environment = await nodeEnvironment();
// Every step is a real `ip netns exec` program run (~20 ms each, more on a loaded machine): allow for it.
vi.setConfig({ testTimeout: 120_000 });
const namespaces = new Set<Netns>();
afterAll(() => Promise.all([...namespaces].map((ns) => ns.close())));

if (environment.fail !== undefined) {
  it('has what the iptables backend tests need', () => {
    throw new Error(environment.fail);
  });
}

describe.skipIf(environment.skip !== undefined || environment.fail !== undefined)(
  `iptables backend detection${environment.skip ? ` (skipped: ${environment.skip})` : ''}`,
  () => {
    let ns: Netns;
    beforeEach(async () => {
      ns = await createNetns();
      namespaces.add(ns);
    });
    afterEach(async () => {
      await ns.close();
      namespaces.delete(ns);
    });

    it("follows kubelet's hint chain in legacy, even when nft has more rules", async () => {
      await ns.sh('iptables-legacy', '-w', '5', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
      for (const port of ['1', '2', '3'])
        await ns.sh('iptables-nft', '-A', 'INPUT', '-p', 'tcp', '--dport', port, '-j', 'ACCEPT');
      expect(await detectBackend(ns.exec, 'auto')).toEqual({
        mode: 'legacy',
        programs: { 4: 'iptables-legacy', 6: 'ip6tables-legacy' },
        reason: "kubelet's hint chain is in legacy",
      });
    });

    it("follows kubelet's hint chain in nft (checked first, as iptables-wrapper does)", async () => {
      await ns.sh('ip6tables-nft', '-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY');
      await ns.sh('iptables-legacy', '-w', '5', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
      expect(await detectBackend(ns.exec, 'auto')).toMatchObject({
        mode: 'nft',
        reason: "kubelet's hint chain is in nft",
      });
    });

    it('without a hint, follows the backend with more rules', async () => {
      await ns.sh('iptables-legacy', '-w', '5', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT');
      expect(await detectBackend(ns.exec, 'auto')).toMatchObject({
        mode: 'legacy',
        reason: 'more rules in legacy (legacy 1, nft 0)',
      });
    });

    it("with no rules anywhere, uses the image's default iptables, else nft", async () => {
      const { stdout } = await promisify(execFile)('iptables', ['-V']);
      const expected = modeOfVersion(stdout) === 'legacy' ? 'legacy' : 'nft';
      expect(await detectBackend(ns.exec, 'auto')).toMatchObject({ mode: expected });
    });

    it('uses a forced mode as it is', async () => {
      await ns.sh('iptables-nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
      expect(await detectBackend(ns.exec, 'legacy')).toEqual({
        mode: 'legacy',
        programs: { 4: 'iptables-legacy', 6: 'ip6tables-legacy' },
        reason: 'node.iptablesMode',
      });
    });

    it('in auto mode, puts the rules where the host has its own', async () => {
      await ns.sh('iptables-legacy', '-w', '5', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
      const dir = mkdtempSync(join(tmpdir(), 'ballast-node-'));
      const net = new NodeNetwork(
        {
          localIps: ['169.254.20.10'],
          setupInterface: false,
          setupIptables: true,
          interfaceName: 'nodelocaldns',
          interfaceKind: 'bridge',
          iptablesMode: 'auto',
          resyncSeconds: 60,
          skipTeardown: false,
          instanceDir: dir,
        },
        { log: silentLogger(), metrics: createNodeMetrics(createRegistry(false)), exec: ns.exec },
      );
      expect((await net.setup()).failed).toBe(0);
      const ours = (lines: string[]) => lines.filter((l) => l.includes('ballast:'));
      expect(ours(await listRules(ns, 'iptables-legacy', 'raw'))).toHaveLength(6);
      expect(ours(await listRules(ns, 'iptables-nft', 'raw'))).toHaveLength(0);
      await net.teardown();
      expect(ours(await listRules(ns, 'iptables-legacy', 'raw'))).toHaveLength(0);
      await rm(dir, { recursive: true, force: true });
    });
  },
);
