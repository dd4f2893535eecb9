// The image tests' parts: whether podman can run here, the image built by `npm run image`'s script, a network
// namespace joined to the host by a veth pair (a node of its own, for the container), and the `podman run` line
// that deploy/base/daemonset.yaml amounts to.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CORE_SCHEMA, load as parseYaml } from 'js-yaml';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');
const env = { ...process.env, CONTAINERS_CONF: join(ROOT, 'deploy', 'image', 'containers.conf') };

/** Runs podman with the repository's containers.conf; returns stdout, throws with stderr. */
export async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { env, maxBuffer: 64 << 20, timeout: 600_000 });
  return stdout.trim();
}

/** `podman` without throwing: exit code and output. */
export async function podmanResult(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('podman', args, { env, maxBuffer: 64 << 20, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function works(file: string, args: string[]): Promise<boolean> {
  return run(file, args).then(
    () => true,
    () => false,
  );
}

/** Why the image tests cannot run here, if they cannot: a skip on a workstation, a failure in CI. */
export async function imageEnvironment(): Promise<{ skip?: string; fail?: string }> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const [prog, arg] of [
    ['podman', '--version'],
    ['runc', '--version'],
    ['mmdebstrap', '--version'],
    ['ip', '-V'],
  ] as const) {
    if (!(await works(prog, [arg]))) missing.push(prog);
  }
  if (missing.length === 0) return {};
  const reason = `the image tests need ${missing.join(', ')} (as root: apt-get install podman runc mmdebstrap)`;
  return process.env.CI ? { fail: `${reason}: CI must run them` } : { skip: reason };
}

/** Builds the image with deploy/image/build.sh (what `npm run image` runs) and returns its name and report. */
export async function buildImage(): Promise<{ image: string; report: string }> {
  const image = 'localhost/ballast:test';
  const { stdout } = await run(join(ROOT, 'deploy', 'image', 'build.sh'), [], {
    env: { ...env, IMAGE: image },
    cwd: ROOT,
    maxBuffer: 64 << 20,
    timeout: 900_000,
  });
  return { image, report: stdout.trim() };
}

/** A network namespace for one test file, with a veth pair to the host: HOST_IP here, NODE_IP in there. */
export interface NodeNs {
  readonly name: string;
  readonly hostIp: string;
  readonly nodeIp: string;
  /** The kernel's dummy link type, or bridge where it has none (node.interfaceKind, docs/node-networking.md). */
  readonly interfaceKind: 'dummy' | 'bridge';
  /** Runs a program inside the namespace and returns its stdout. */
  sh(file: string, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function createNodeNs(): Promise<NodeNs> {
  const id = randomBytes(3).toString('hex');
  const name = `ballast-image-${id}`;
  // 198.18.0.0/15 is set aside for benchmarks (RFC 2544): nothing on the machine routes it.
  const subnet = `198.18.${1 + (parseInt(id, 16) % 254)}`;
  const hostIp = `${subnet}.1`;
  const nodeIp = `${subnet}.2`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', name);
  const sh = async (file: string, ...args: string[]) =>
    (await run('ip', ['netns', 'exec', name, file, ...args])).stdout;
  let interfaceKind: 'dummy' | 'bridge' = 'dummy';
  try {
    await ip('link', 'add', `blh-${id}`, 'type', 'veth', 'peer', 'name', `bln-${id}`, 'netns', name);
    await ip('addr', 'add', `${hostIp}/30`, 'dev', `blh-${id}`);
    await ip('link', 'set', `blh-${id}`, 'up');
    await sh('ip', 'addr', 'add', `${nodeIp}/30`, 'dev', `bln-${id}`);
    await sh('ip', 'link', 'set', `bln-${id}`, 'up');
    await sh('ip', 'link', 'set', 'lo', 'up');
    // The node-local address is reached from the host through the node, as a pod reaches it on its node. The route
    // belongs to the veth, so it goes when the namespace does.
    await ip('route', 'add', '169.254.20.10/32', 'via', nodeIp, 'dev', `blh-${id}`);
    interfaceKind = await sh('ip', 'link', 'add', 'probe', 'type', 'dummy').then(
      () => sh('ip', 'link', 'del', 'probe').then(() => 'dummy' as const),
      () => 'bridge' as const,
    );
  } catch (err) {
    await ip('netns', 'del', name).catch(() => {});
    throw err;
  }
  return {
    name,
    hostIp,
    nodeIp,
    interfaceKind,
    sh,
    close: async () => {
      await ip('link', 'del', `blh-${id}`).catch(() => {});
      await ip('netns', 'del', name).catch(() => {});
    },
  };
}

interface Container {
  args: string[];
  livenessProbe: { httpGet: { path: string; port: number } };
  readinessProbe: { httpGet: { path: string; port: number } };
  resources: { requests: { memory: string } };
  securityContext: {
    runAsUser: number;
    runAsGroup: number;
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities: { drop: string[]; add: string[] };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

/** The DaemonSet's one container, as deploy/base/daemonset.yaml writes it. */
export function daemonSetContainer(): Container {
  const ds = parseYaml(readFileSync(join(ROOT, 'deploy', 'base', 'daemonset.yaml'), 'utf8'), { schema: CORE_SCHEMA });
  return (ds as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0];
}

/** The config the base ConfigMap ships, as an object. */
export function configMapConfig(): Record<string, Record<string, unknown>> {
  const cm = parseYaml(readFileSync(join(ROOT, 'deploy', 'base', 'configmap.yaml'), 'utf8'), { schema: CORE_SCHEMA });
  const text = (cm as { data: Record<string, string> }).data['config.yaml'];
  return parseYaml(text, { schema: CORE_SCHEMA }) as Record<string, Record<string, unknown>>;
}

/** Bytes in a Kubernetes quantity such as 88Mi. */
export function quantity(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unsupported quantity ${q}`);
  const unit: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * (m[2] === undefined ? 1 : unit[m[2]]);
}

/**
 * `podman run` options that do what the DaemonSet's container spec does: its user, its read-only root, its
 * capabilities (every one dropped, three added), no privilege escalation, the runtime's default seccomp profile,
 * and each volume mount, bound to the host directory given for it (a tmpfs for the emptyDir at /tmp).
 */
export function daemonSetRunOptions(c: Container, volumes: Record<string, string>): string[] {
  const sc = c.securityContext;
  const opts = [
    `--user=${sc.runAsUser}:${sc.runAsGroup}`,
    ...(sc.readOnlyRootFilesystem ? ['--read-only', '--read-only-tmpfs=false'] : []),
    ...(sc.allowPrivilegeEscalation ? [] : ['--security-opt=no-new-privileges']),
    ...sc.capabilities.drop.map((cap) => `--cap-drop=${cap}`),
    ...sc.capabilities.add.map((cap) => `--cap-add=${cap}`),
  ];
  for (const m of c.volumeMounts) {
    if (m.name === 'tmp') {
      opts.push(`--tmpfs=${m.mountPath}:rw,size=16m`);
      continue;
    }
    const source = volumes[m.name];
    if (source === undefined) throw new Error(`no host path given for the DaemonSet's volume ${m.name}`);
    opts.push(`--volume=${source}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
  }
  return opts;
}
