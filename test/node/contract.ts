// The node contract (docs/design.md §3) against the real kernel: a network namespace per test, the real `ip` and
// `iptables` programs run inside it, checked with `ip addr` and `iptables -S`. One test file per iptables backend
// (netns-nft.test.ts, netns-legacy.test.ts) runs this suite, so the two run in parallel.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Exec } from '../../src/node/exec.js';
import { createNodeMetrics, NodeNetwork, type NodeNetworkOptions, nodeRules } from '../../src/node/index.js';
import { createRegistry, silentLogger } from '../../src/observe/index.js';
import { createNetns, listRules, type Netns, nodeEnvironment } from './netns.js';

const LOCAL_IPS = ['169.254.20.10', '10.96.0.10', 'fd00:ba11:a57::10'];
const ADMIN_PORT = 9253;
/** Per local IP: 5 rules × UDP and TCP, plus 3 for the admin port. */
const RULES_PER_IP = 13;

const namespaces = new Set<Netns>();
const dirs = new Set<string>();
const children = new Set<ChildProcess>();

function instanceDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-node-'));
  dirs.add(dir);
  return dir;
}

async function metric(registry: Registry, name: string, kind: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  return (await m?.get())?.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

/** A process that registers as a ballast instance in `dir`, until killed. */
function fakeInstance(dir: string): Promise<ChildProcess> {
  const script = `
    const net = require('node:net');
    const path = require('node:path').join(process.argv[1], 'instance-child.sock');
    net.createServer((s) => s.end(JSON.stringify({ id: 'child', pid: process.pid, startedAt: 'now' }) + '\\n'))
      .listen(path, () => console.log('ready'));`;
  const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`fake instance exited with ${code}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Registers the suite for one backend. */
export async function nodeContract(mode: 'nft' | 'legacy'): Promise<void> {
  const environment = await nodeEnvironment();
  // Every step is a real `ip netns exec` program run (~20 ms each, more on a loaded machine): allow for it.
  vi.setConfig({ testTimeout: 120_000 });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all([...namespaces].map((ns) => ns.close()));
    await Promise.all([...dirs].map((d) => rm(d, { recursive: true, force: true })));
  });
  if (environment.fail !== undefined) {
    it('has what the node networking tests need', () => {
      throw new Error(environment.fail);
    });
  }
  const skipped = environment.skip ? ` (skipped: ${environment.skip})` : '';
  describe.skipIf(environment.skip !== undefined || environment.fail !== undefined)(
    `node networking in a network namespace, iptables-${mode}${skipped}`,
    () => {
      const v4 = `iptables-${mode}`;
      const v6 = `ip6tables-${mode}`;
      let ns: Netns;
      let dir: string;

      beforeEach(async () => {
        ns = await createNetns();
        namespaces.add(ns);
        dir = instanceDir();
      });
      afterEach(async () => {
        await ns.close();
        namespaces.delete(ns);
      });

      function network(overrides: Partial<NodeNetworkOptions> = {}, exec: Exec = ns.exec) {
        const registry = createRegistry(false);
        const net = new NodeNetwork(
          {
            localIps: LOCAL_IPS,
            setupInterface: true,
            setupIptables: true,
            interfaceName: 'nodelocaldns',
            interfaceKind: 'bridge',
            iptablesMode: mode,
            resyncSeconds: 60,
            skipTeardown: false,
            instanceDir: dir,
            adminPort: ADMIN_PORT,
            ...overrides,
          },
          { log: silentLogger(), metrics: createNodeMetrics(registry), exec },
        );
        return { net, registry };
      }

      /** Every rule in raw and filter, both families, as `iptables -S` prints them. */
      async function allRules(): Promise<string[]> {
        const out: string[] = [];
        for (const prog of [v4, v6]) {
          for (const table of ['raw', 'filter'] as const) {
            out.push(...(await listRules(ns, prog, table)).map((l) => `${prog} -t ${table} ${l}`));
          }
        }
        return out;
      }
      const ours = (rules: string[]) => rules.filter((l) => l.includes('--comment "ballast:'));

      async function addresses(name = 'nodelocaldns'): Promise<string[]> {
        const out = await ns.sh('ip', '-o', 'addr', 'show', 'dev', name);
        return [...out.matchAll(/\binet6? (\S+)/g)].map((m) => m[1]).filter((a) => !a.startsWith('fe80:'));
      }

      it('creates the interface with every local IP, adds every rule once, and the addresses can be bound', async () => {
        const { net, registry } = network();
        const report = await net.setup();
        expect(report.failed).toBe(0);

        const link = await ns.sh('ip', '-d', 'link', 'show', 'dev', 'nodelocaldns');
        expect(link).toContain('bridge');
        expect(link).toContain('alias ballast');
        expect(link).toMatch(/<[^>]*\bUP\b/);
        expect((await addresses()).sort()).toEqual(['10.96.0.10/32', '169.254.20.10/32', 'fd00:ba11:a57::10/128']);

        const rules = ours(await allRules());
        expect(rules).toHaveLength(LOCAL_IPS.length * RULES_PER_IP);
        expect(new Set(rules).size).toBe(rules.length);
        const raw = await listRules(ns, v4, 'raw');
        const filter = await listRules(ns, v4, 'filter');
        for (const proto of ['udp', 'tcp']) {
          const m = `-p ${proto} -m ${proto}`;
          expect(raw).toContain(
            `-A PREROUTING -d 169.254.20.10/32 ${m} --dport 53 -m comment --comment "ballast: node-local DNS, skip conntrack" -j NOTRACK`,
          );
          expect(filter).toContain(
            `-A INPUT -d 169.254.20.10/32 ${m} --dport 53 -m comment --comment "ballast: node-local DNS, accept untracked" -j ACCEPT`,
          );
          expect(raw).toContain(
            `-A OUTPUT -s 169.254.20.10/32 ${m} --sport 53 -m comment --comment "ballast: node-local DNS, skip conntrack" -j NOTRACK`,
          );
          expect(filter).toContain(
            `-A OUTPUT -s 169.254.20.10/32 ${m} --sport 53 -m comment --comment "ballast: node-local DNS, accept untracked" -j ACCEPT`,
          );
          expect(raw).toContain(
            `-A OUTPUT -d 169.254.20.10/32 ${m} --dport 53 -m comment --comment "ballast: node-local DNS, skip conntrack" -j NOTRACK`,
          );
        }
        const admin =
          '-p tcp -m tcp --dport 9253 -m comment --comment "ballast: admin port, skip conntrack" -j NOTRACK';
        expect(raw).toContain(`-A PREROUTING -d 10.96.0.10/32 ${admin}`);
        expect(raw).toContain(`-A OUTPUT -d 10.96.0.10/32 ${admin}`);
        expect(await listRules(ns, v6, 'raw')).toContain(
          '-A OUTPUT -s fd00:ba11:a57::10/128 -p tcp -m tcp --sport 9253 -m comment --comment "ballast: admin port, skip conntrack" -j NOTRACK',
        );
        // Prepended (-I), as NodeLocal: ballast's rules come before the ones already there.
        await ns.sh(v4, '-w', '5', '-A', 'INPUT', '-p', 'udp', '--dport', '53', '-j', 'DROP');
        const input = (await listRules(ns, v4, 'filter')).filter((l) => l.startsWith('-A INPUT'));
        expect(input.at(-1)).toContain('DROP');

        // The addresses are usable: UDP and TCP sockets bind on port 53 on each of them, inside the namespace.
        const bind = `
        const dgram = require('node:dgram'), net = require('node:net');
        (async () => {
          for (const ip of JSON.parse(process.argv[1])) {
            await new Promise((ok, fail) => { const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
              s.once('error', fail); s.bind(53, ip, () => { s.close(); ok(); }); });
            await new Promise((ok, fail) => { const s = net.createServer(); s.once('error', fail);
              s.listen(53, ip, () => s.close(ok)); });
          }
          console.log('bound');
        })().catch((e) => { console.error(e.message); process.exit(1); });`;
        expect((await ns.sh(process.execPath, '-e', bind, JSON.stringify(LOCAL_IPS))).trim()).toBe('bound');
        expect(await metric(registry, 'ballast_node_setup_errors_total', 'iptables')).toBe(0);
        await net.teardown();
      });

      it('adds nothing on repeated resyncs', async () => {
        const { net } = network();
        await net.setup();
        const before = await allRules();
        for (let i = 0; i < 3; i++) {
          const report = await net.resync();
          expect(report).toEqual({ added: [], failed: 0 });
        }
        expect(await allRules()).toEqual(before);
        // A second instance's setup (a rollout) finds everything in place too.
        const other = network();
        expect((await other.net.setup()).added).toEqual([]);
        expect(await allRules()).toEqual(before);
        await other.net.teardown();
        await net.teardown();
      });

      it('puts back a rule, an address and the interface removed by hand, at the next resync', async () => {
        const { net, registry } = network();
        await net.setup();
        const before = await allRules();
        const rule = net.managedRules[0];
        await ns.sh(v4, '-w', '5', '-t', rule.table, '-D', rule.chain, ...rule.spec);
        await ns.sh(v6, '-w', '5', '-t', 'filter', '-D', 'INPUT', ...nodeRules(['fd00:ba11:a57::10'])[1].spec);
        expect(ours(await allRules())).toHaveLength(LOCAL_IPS.length * RULES_PER_IP - 2);
        await ns.sh('ip', 'addr', 'del', '10.96.0.10/32', 'dev', 'nodelocaldns');

        const report = await net.resync();
        expect(report.failed).toBe(0);
        expect(report.added).toHaveLength(3);
        expect((await allRules()).sort()).toEqual([...before].sort());
        expect(await addresses()).toContain('10.96.0.10/32');
        expect(await metric(registry, 'ballast_node_repairs_total', 'rule')).toBe(2);
        expect(await metric(registry, 'ballast_node_repairs_total', 'address')).toBe(1);

        await ns.sh('ip', 'link', 'del', 'dev', 'nodelocaldns');
        await net.resync();
        expect((await addresses()).sort()).toEqual(['10.96.0.10/32', '169.254.20.10/32', 'fd00:ba11:a57::10/128']);
        expect(await metric(registry, 'ballast_node_repairs_total', 'interface')).toBe(1);
        await net.teardown();
      });

      it('removes exactly what it added at teardown, and leaves everyone else alone', async () => {
        // Someone else's rules, one of them on the same address and port, and someone else's interface.
        await ns.sh(
          v4,
          '-w',
          '5',
          '-I',
          'INPUT',
          '-d',
          '169.254.20.10/32',
          '-p',
          'udp',
          '--dport',
          '53',
          '-j',
          'ACCEPT',
        );
        await ns.sh(v4, '-w', '5', '-t', 'raw', '-A', 'PREROUTING', '-p', 'udp', '--dport', '5353', '-j', 'NOTRACK');
        await ns.sh(
          v6,
          '-w',
          '5',
          '-A',
          'OUTPUT',
          '-p',
          'tcp',
          '--sport',
          '53',
          '-m',
          'comment',
          '--comment',
          'not ours',
          '-j',
          'ACCEPT',
        );
        await ns.sh('ip', 'link', 'add', 'other0', 'type', 'bridge');
        const before = await allRules();

        const { net } = network();
        await net.setup();
        expect(ours(await allRules())).toHaveLength(LOCAL_IPS.length * RULES_PER_IP);
        const result = await net.teardown();
        expect(result.skipped).toBeUndefined();
        expect(result.removed).toHaveLength(LOCAL_IPS.length * RULES_PER_IP + 1);
        expect(await allRules()).toEqual(before);
        expect((await ns.exec('ip', ['link', 'show', 'dev', 'nodelocaldns'])).code).not.toBe(0);
        expect(await ns.sh('ip', 'link', 'show', 'dev', 'other0')).toContain('other0');
        // This instance unregistered itself.
        expect((await readdir(dir)).filter((f) => f.startsWith('instance-'))).toEqual([]);
      });

      it('on an interface it did not create, removes only the addresses it added', async () => {
        await ns.sh('ip', 'link', 'add', 'foreign0', 'type', 'bridge');
        await ns.sh('ip', 'addr', 'add', '192.0.2.1/32', 'dev', 'foreign0');
        await ns.sh('ip', 'addr', 'add', '169.254.20.10/32', 'dev', 'foreign0');
        const { net } = network({ interfaceName: 'foreign0', localIps: ['169.254.20.10', '169.254.20.11'] });
        const report = await net.setup();
        expect(report.added.filter((a) => a.startsWith('address'))).toEqual(['address 169.254.20.11 on foreign0']);
        expect(await net.teardown()).toMatchObject({
          removed: expect.arrayContaining(['address 169.254.20.11 on foreign0']),
        });
        expect((await addresses('foreign0')).sort()).toEqual(['169.254.20.10/32', '192.0.2.1/32']);
      });

      it('skips teardown while a second instance is serving, and tears down once the last one exits', async () => {
        const a = network();
        const b = network();
        await a.net.setup();
        await b.net.setup();
        const full = await allRules();
        expect(ours(full)).toHaveLength(LOCAL_IPS.length * RULES_PER_IP);

        // The old pod exits first during a rollout: the new one still serves on the same addresses.
        const first = await a.net.teardown();
        expect(first.skipped).toMatch(/another ballast instance is serving/);
        expect(first.removed).toEqual([]);
        expect(await allRules()).toEqual(full);
        expect(await addresses()).toHaveLength(3);

        const last = await b.net.teardown();
        expect(last.skipped).toBeUndefined();
        expect(ours(await allRules())).toEqual([]);
        expect((await ns.exec('ip', ['link', 'show', 'dev', 'nodelocaldns'])).code).not.toBe(0);
      });

      it('sees an instance in another process, and stops seeing it when that process is killed', async () => {
        const { net } = network();
        await net.setup();
        const child = await fakeInstance(dir);
        expect((await net.teardown()).skipped).toMatch(/child \(pid \d+\)/);
        expect(ours(await allRules())).toHaveLength(LOCAL_IPS.length * RULES_PER_IP);

        // SIGKILL (an OOMKill) leaves its file behind; the refused connection shows it is dead.
        await killed(child);
        expect(await readdir(dir)).toContain('instance-child.sock');
        const result = await net.teardown();
        expect(result.skipped).toBeUndefined();
        expect(ours(await allRules())).toEqual([]);
        expect(await readdir(dir)).not.toContain('instance-child.sock');
      });

      it('never tears down with skipTeardown', async () => {
        const { net } = network({ skipTeardown: true });
        await net.setup();
        const before = await allRules();
        expect(await net.teardown()).toEqual({ skipped: 'node.skipTeardown is set', removed: [] });
        expect(await allRules()).toEqual(before);
        expect(await addresses()).toHaveLength(3);
        // An instance without the setting cleans up after it.
        await network().net.teardown();
        expect(ours(await allRules())).toEqual([]);
      });

      it('adds no rules for an address the kernel refuses, and adds them once it is accepted', async () => {
        // IPv6 off in the namespace: the IPv6 local IP cannot be added, and its rules must not go in.
        const sysctl = (path: string, value: string) =>
          ns.sh(
            process.execPath,
            '-e',
            'require("node:fs").writeFileSync(process.argv[1], process.argv[2])',
            path,
            value,
          );
        await sysctl('/proc/sys/net/ipv6/conf/default/disable_ipv6', '1');
        const { net, registry } = network();
        const report = await net.setup();
        expect(report.failed).toBe(1);
        expect(await metric(registry, 'ballast_node_setup_errors_total', 'address')).toBe(1);
        expect(ours(await allRules())).toHaveLength(2 * RULES_PER_IP);
        expect(ours(await allRules()).filter((l) => l.startsWith(v6))).toEqual([]);

        await sysctl('/proc/sys/net/ipv6/conf/nodelocaldns/disable_ipv6', '0');
        expect(await net.resync()).toMatchObject({ failed: 0 });
        expect(ours(await allRules())).toHaveLength(3 * RULES_PER_IP);

        // IPv6 off again: the address goes, cannot be put back, and its rules are withdrawn.
        await sysctl('/proc/sys/net/ipv6/conf/nodelocaldns/disable_ipv6', '1');
        expect(await net.resync()).toMatchObject({ failed: 1 });
        expect(ours(await allRules())).toHaveLength(2 * RULES_PER_IP);
        await net.teardown();
        expect(ours(await allRules())).toEqual([]);
      });

      it('counts the failure and carries on when the interface kind cannot be created', async () => {
        const dummy = await ns.exec('ip', ['link', 'add', 'probe0', 'type', 'dummy']);
        const { net, registry } = network({ interfaceKind: 'dummy', localIps: ['169.254.20.10'] });
        const report = await net.setup();
        if (dummy.code === 0) {
          // A kernel with the dummy module: the default kind works.
          expect(report.failed).toBe(0);
          expect(await ns.sh('ip', '-d', 'link', 'show', 'dev', 'nodelocaldns')).toContain('dummy');
        } else {
          // This kernel has no dummy link type: counted and logged with the fix. No address is local, so no rule
          // goes in either: NOTRACK towards an address nobody holds would black-hole DNS.
          expect(report.failed).toBe(1);
          expect(await metric(registry, 'ballast_node_setup_errors_total', 'interface')).toBe(1);
          expect(ours(await allRules())).toEqual([]);
        }
        await net.teardown();
        expect(ours(await allRules())).toEqual([]);
      });

      it('waits a bounded time for a held xtables lock (legacy), or needs no lock at all (nft)', async () => {
        // flock(1) holds /run/xtables.lock, as kube-proxy does during a long iptables-restore (kubernetes/dns#292),
        // until its process group is killed.
        const holder = spawn('flock', ['-x', '/run/xtables.lock', 'sleep', '60'], { stdio: 'ignore', detached: true });
        children.add(holder);
        const release = () => {
          if (holder.exitCode === null && holder.signalCode === null) process.kill(-holder.pid!, 'SIGKILL');
        };
        try {
          // flock has the lock once another flock cannot take it (-n: do not wait; -E 10: say so with status 10).
          await vi.waitFor(() =>
            expect(spawnSync('flock', ['-n', '-E', '10', '/run/xtables.lock', 'true']).status).toBe(10),
          );
          // The commands as they finish: the first check of a rule (-C) that gave up waiting for the lock is seen here,
          // the pass's first failed step. (The listing before it gave up too, but the pass falls back to checking.)
          let gaveUp = () => {};
          const firstGaveUp = new Promise<void>((resolve) => (gaveUp = resolve));
          const watched: Exec = async (file, args) => {
            const r = await ns.exec(file, args);
            if (args.includes('-C') && r.code !== 0 && /xtables lock/i.test(r.stderr + r.stdout)) gaveUp();
            return r;
          };
          const { net, registry } = network(
            { localIps: ['169.254.20.10'], xtablesWaitSeconds: 1, setupInterface: false },
            watched,
          );
          if (mode === 'nft') {
            // iptables-nft commits through nf_tables transactions and never takes the xtables lock.
            const report = await net.setup();
            expect(report).toMatchObject({ failed: 0 });
            expect(report.added).toHaveLength(RULES_PER_IP);
          } else {
            // Each command gives up after 1 s instead of hanging; counted apart, and retried at the next resync. The
            // lock is let go once the first step has failed on it (not after a guessed time): exactly that one fails,
            // the rest of the pass gets the lock.
            void firstGaveUp.then(release);
            const report = await net.setup();
            expect(report.failed).toBe(1);
            expect(await metric(registry, 'ballast_node_setup_errors_total', 'xtables_lock')).toBe(report.failed);
            const again = await net.resync();
            expect(again.failed).toBe(0);
            expect(again.added).toHaveLength(report.failed);
          }
          expect(ours(await allRules())).toHaveLength(RULES_PER_IP);
          release();
          await net.teardown();
        } finally {
          release();
        }
      });
    },
  );
}
