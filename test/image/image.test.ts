// The image users deploy, built by `npm run image`'s script and run the way deploy/base/daemonset.yaml runs it: its
// arguments, user, read-only root, capabilities, volumes and probes, in a network namespace made for the test (the
// node), with the fake CoreDNS on the host side of a veth pair. Needs root and podman; skipped without them on a
// workstation, failed in CI (.ci/run installs podman, runc and mmdebstrap).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LEAN_NODE_FLAGS } from '../../bin/lean.js';
import { decodeSnapshot } from '../../src/persist/index.js';
import { header, Packet, query, tcpQuery } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';
import {
  buildImage,
  configMapConfig,
  createNodeNs,
  daemonSetContainer,
  daemonSetRunOptions,
  imageEnvironment,
  type NodeNs,
  podman,
  podmanResult,
  quantity,
  ROOT,
} from './podman.js';

const environment = await imageEnvironment();
if (environment.fail) throw new Error(environment.fail);

const LOCAL_IP = '169.254.20.10';
const SERVICE = 'web.default.svc.cluster.local';
const EXTERNAL = 'www.example.org';
const CONTAINER = daemonSetContainer();
const ADMIN_PORT = CONTAINER.readinessProbe.httpGet.port;
// NET_BIND_SERVICE (10), NET_ADMIN (12), NET_RAW (13): the DaemonSet's three capabilities, as /proc shows them.
const CAPS = {
  NET_BIND_SERVICE: 10,
  NET_ADMIN: 12,
  NET_RAW: 13,
} as const;

const title = `the image, run as the DaemonSet runs it${environment.skip ? ` (skipped: ${environment.skip})` : ''}`;

// Each container start waits for /ready and each stop for the drain period (2 s): longer than the default 30 s
// only on a machine that is busy building.
describe.skipIf(environment.skip !== undefined)(title, { timeout: 120_000 }, () => {
  let image = '';
  let report = '';
  let ns: NodeNs;
  let upstream: FakeUpstream;
  const dir = mkdtempSync(join(tmpdir(), 'ballast-image-'));
  const volumes: Record<string, string> = {};
  const containers: string[] = [];
  const prefix = `ballast-test-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    // Built before the run by test/setup/image.ts; built here when its guess of the run's files missed this one.
    ({ image, report } = inject('image') ?? (await buildImage()));
    ns = await createNodeNs();
    upstream = await startFakeUpstream({
      host: ns.hostIp,
      records: {
        [`${SERVICE}/1`]: [a(SERVICE, '10.96.12.34', 5)],
        [`${EXTERNAL}/1`]: [a(EXTERNAL, '192.0.2.80', 1)],
      },
    });
    for (const name of ['config', 'cache', 'instances', 'chaos-token']) {
      volumes[name] = join(dir, name);
      mkdirSync(volumes[name]);
    }
    volumes['xtables-lock'] = join(dir, 'xtables.lock');
    writeFileSync(volumes['xtables-lock'], '');
    // The ConfigMap's config as shipped, but for the root zone's upstream: the fake, never the machine's resolver.
    const config = configMapConfig();
    config.upstream = { ...config.upstream, servers: [upstream.address] };
    // A kernel without the dummy driver (this machine's) gets the documented alternative.
    if (ns.interfaceKind !== 'dummy') config.node = { ...config.node, interfaceKind: ns.interfaceKind };
    writeFileSync(join(volumes.config, 'config.yaml'), dump(config));
  }, 900_000);

  afterAll(async () => {
    for (const c of containers) await podmanResult('rm', '--force', '--time', '0', c);
    await upstream?.close();
    await ns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a container on the node: `options` before the image, `args` after it; returns once `ready` says 200. */
  async function startOnNode(suffix: string, options: string[], args: string[], ready: string): Promise<string> {
    const name = `${prefix}-${suffix}`;
    containers.push(name);
    await podman('run', '--detach', `--name=${name}`, `--network=ns:/run/netns/${ns.name}`, ...options, image, ...args);
    await untilReady(name, ready);
    return name;
  }

  /** Starts a container the way the DaemonSet does, on the node; returns its name once /ready answers 200. */
  function startAsDaemonSet(): Promise<string> {
    const options = [
      // Service links, as the kubelet writes them for the kube-dns-upstream Service: the cluster zones' upstream.
      `--env=KUBE_DNS_UPSTREAM_SERVICE_HOST=${upstream.host}`,
      `--env=KUBE_DNS_UPSTREAM_SERVICE_PORT=${upstream.port}`,
      ...daemonSetRunOptions(CONTAINER, volumes),
    ];
    return startOnNode(String(containers.length), options, CONTAINER.args, CONTAINER.readinessProbe.httpGet.path);
  }

  /** Waits for the probe to answer 200; a container that exits first fails at once, with its output. */
  async function untilReady(name: string, path: string): Promise<void> {
    await until(
      async () => {
        if ((await probe(path)) === 200) return true;
        if ((await podman('inspect', '--format', '{{.State.Running}}', name)) === 'true') return false;
        const logs = await podmanResult('logs', name);
        throw new Error(`${name} exited before it was ready:\n${logs.stdout}${logs.stderr}`);
      },
      `${name} ready`,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  async function probe(path: string): Promise<number> {
    try {
      const res = await fetch(`http://${ns.nodeIp}:${ADMIN_PORT}${path}`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  async function metrics(): Promise<string> {
    const res = await fetch(`http://${ns.nodeIp}:${ADMIN_PORT}/metrics`);
    return res.text();
  }

  /** The container's main process as the host sees it. */
  async function hostPid(name: string): Promise<number> {
    return Number(await podman('inspect', '--format', '{{.State.Pid}}', name));
  }

  async function rules(): Promise<string> {
    const nft = await ns.sh('iptables-nft-save').catch(() => '');
    const legacy = await ns.sh('iptables-legacy-save').catch(() => '');
    return nft + legacy;
  }

  async function addresses(): Promise<string> {
    return ns.sh('ip', '-o', 'addr', 'show');
  }

  let first = '';

  it('builds with npm run image: Node.js 24, the bundle, no npm', () => {
    expect(report).toMatch(/node v24\.\d+\.\d+; bundle \d+ bytes; npm absent/);
  });

  it('starts with the DaemonSet arguments and passes both probes', async () => {
    first = await startAsDaemonSet();
    expect(await probe(CONTAINER.livenessProbe.httpGet.path)).toBe(200);
    expect(await probe(CONTAINER.readinessProbe.httpGet.path)).toBe(200);
    const text = await metrics();
    expect(text).toMatch(/^ballast_cache_entries /m);
    expect(text).toMatch(/^ballast_process_resident_memory_bytes /m);
  });

  it('sets up the node: the nodelocaldns interface carries 169.254.20.10, NOTRACK and ACCEPT rules for it', async () => {
    expect(await addresses()).toMatch(new RegExp(`nodelocaldns\\s+inet ${LOCAL_IP.replaceAll('.', '\\.')}/32`));
    const text = await rules();
    expect(text).toMatch(new RegExp(`-A PREROUTING -d ${LOCAL_IP}/32 -p udp -m udp --dport 53 .*-j NOTRACK`));
    expect(text).toMatch(new RegExp(`-A INPUT -d ${LOCAL_IP}/32 -p tcp -m tcp --dport 53 .*-j ACCEPT`));
  });

  it('answers UDP and TCP on 169.254.20.10:53 from the fake CoreDNS on the host', async () => {
    const udp = await query(53, SERVICE, Packet.TYPE.A, { edns: 1232 }, LOCAL_IP, 5000);
    expect(header(udp.raw).rcode).toBe(0);
    expect(udp.packet.answers[0]).toMatchObject({ address: '10.96.12.34' });
    const tcp = await tcpQuery(53, EXTERNAL, Packet.TYPE.A, { edns: 1232 }, LOCAL_IP);
    expect(header(tcp.raw).rcode).toBe(0);
    expect(tcp.packet.answers[0]).toMatchObject({ address: '192.0.2.80' });
    expect(upstream.count(SERVICE)).toBe(1);
    expect(upstream.count(EXTERNAL)).toBe(1);
  });

  it('runs as PID 1, as root with the three capabilities and no more, with no new privileges', async () => {
    const status = readFileSync(`/proc/${await hostPid(first)}/status`, 'utf8');
    const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    expect(field('NSpid').split(/\s+/).at(-1)).toBe('1');
    expect(field('Uid').split(/\s+/)).toEqual(['0', '0', '0', '0']);
    const granted = Object.values(CAPS).reduce((m, bit) => m | (1n << BigInt(bit)), 0n);
    expect(BigInt(`0x${field('CapEff')}`)).toBe(granted);
    expect(BigInt(`0x${field('CapBnd')}`)).toBe(granted);
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
    // The root filesystem is read-only; the volumes are not.
    const write = await podmanResult('exec', first, 'touch', '/app/probe');
    expect(write.stderr).toContain('Read-only file system');
  });

  it("runs with the launcher's V8 flags and malloc settings, idle within the memory request", async () => {
    const pid = await hostPid(first);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // The ENTRYPOINT `node /app/bin/ballast.js` re-ran itself lean (bin/lean.js), still as PID 1.
    expect(argv).toEqual(['/usr/local/bin/node', ...LEAN_NODE_FLAGS, '/app/bin/ballast.js', ...CONTAINER.args]);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain('MALLOC_ARENA_MAX=1');
    expect(environ).toContain('MALLOC_TRIM_THRESHOLD_=262144');
    // In effect: V8's heap limit is the 64 MiB old space plus the young generation (several GiB without the flag).
    const text = await metrics();
    const limit = Number(/^ballast_nodejs_heap_size_limit_bytes (\S+)$/m.exec(text)?.[1]);
    expect(limit).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(limit).toBeLessThan(72 * 1024 * 1024);
    const rss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(quantity(CONTAINER.resources.requests.memory));
  });

  it('drains on SIGTERM as PID 1, writes the snapshot to the volume and takes the node setup down', async () => {
    const stopped = Date.now();
    await podman('stop', '--time', '30', first);
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', first)).toBe('0');
    const logs = (await podmanResult('logs', first)).stdout;
    expect(logs).toContain('"signal":"SIGTERM","msg":"shutting down"');
    expect(logs).toContain('"msg":"stopped"');
    // The snapshot on the volume, written at the stop, holds both answers.
    const snapshot = decodeSnapshot(readFileSync(join(volumes.cache, 'cache.snapshot')));
    expect(snapshot.writtenAtMs).toBeGreaterThanOrEqual(stopped - 1000);
    expect(snapshot.entries.length).toBe(2);
    expect(await addresses()).not.toContain('nodelocaldns');
    expect(await rules()).not.toContain(LOCAL_IP);
    expect(readdirSync(volumes.instances)).toEqual([]);
  });

  it('a new container on the same volume answers a cached name from stale data with CoreDNS blackholed', async () => {
    upstream.mode = 'blackhole';
    const second = await startAsDaemonSet();
    const logs = (await podmanResult('logs', second)).stdout;
    expect(logs).toContain('"msg":"snapshot loaded"');
    const r = await query(53, EXTERNAL, Packet.TYPE.A, { edns: 1232 }, LOCAL_IP, 5000);
    expect(header(r.raw).rcode).toBe(0);
    expect(r.packet.answers[0]).toMatchObject({ address: '192.0.2.80', ttl: 30 });
    expect(r.raw.subarray(-6)).toEqual(Buffer.from([0, 15, 0, 2, 0, 3])); // EDE 3, Stale Answer
    await podman('stop', '--time', '30', second);
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', second)).toBe('0');
    upstream.mode = 'answer';
  });

  it("runs as the image's own user (node) without the DaemonSet's settings, and snapshots to its default path", async () => {
    const args = ['serve', '--listen', `${ns.nodeIp}:5353`, '--upstream', upstream.address];
    const name = await startOnNode('plain', [], [...args, '--admin', `${ns.nodeIp}:${ADMIN_PORT}`], '/ready');
    const status = readFileSync(`/proc/${await hostPid(name)}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('1000');
    const r = await query(5353, SERVICE, Packet.TYPE.A, { edns: 1232 }, ns.nodeIp, 5000);
    expect(r.packet.answers[0]).toMatchObject({ address: '10.96.12.34' });
    await podman('stop', '--time', '30', name);
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0');
    const copy = join(dir, 'plain.snapshot');
    await podman('cp', `${name}:/var/lib/ballast/cache.snapshot`, copy);
    expect(decodeSnapshot(readFileSync(copy)).entries.length).toBe(1);
  });

  it('holds the bundle and nothing else of the checkout: no sources, tests, node_modules or npm; labels set', async () => {
    const files = (await podman('run', '--rm', '--entrypoint=/usr/bin/find', image, '/app', '-type', 'f'))
      .split('\n')
      .sort();
    expect(files).toEqual([
      '/app/bin/ballast.js',
      '/app/bin/lean.js',
      '/app/dist/bundle.js',
      '/app/dist/bundle.js.map',
      '/app/package.json',
    ]);
    // No npm, and no trace of the build's npm settings (passed as a build secret) anywhere.
    const npm = await podmanResult(
      'run',
      '--rm',
      '--user=0',
      '--entrypoint=/bin/sh',
      image,
      '-c',
      'command -v npm; ls /usr/local/lib/node_modules; find / -xdev -name .npmrc',
    );
    expect(npm.stdout.trim()).toBe('');
    const labels = JSON.parse(await podman('image', 'inspect', '--format', '{{json .Labels}}', image));
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'ballast',
      'org.opencontainers.image.version': JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
  });
});
