// Runs the built CLI (bin/ballast.js → dist/) as a child process, the way an operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickFreePort } from './bind.js';
import { bundleIsFresh, distIsFresh } from './build.js';
import { until } from './wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = process.execPath;
export const BIN = `${root}bin/ballast.js`;

/** dist/ and the bundle are built once per run by test/setup/build.ts; a test that finds them stale says so. */
export function ensureBuilt(): void {
  if (!distIsFresh() || !bundleIsFresh())
    throw new Error('dist/ is older than src/: run the tests with vitest (test/setup/build.ts builds it)');
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly adminPort: number;
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface CliOptions {
  port?: number;
  adminPort?: number;
  /** Node.js options before the script (`node OPTIONS bin/ballast.js …`). */
  nodeArgs?: string[];
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Starts `ballast serve` (log level info) on free loopback ports with extra args; resolves once it has started. */
export async function startCli(args: string[], opts: CliOptions = {}): Promise<CliProcess> {
  ensureBuilt();
  const port = opts.port ?? (await pickFreePort());
  const adminPort = opts.adminPort ?? (await pickFreePort());
  // Never the default snapshot path: a private temp file unless the test names one.
  const dir = args.includes('--snapshot') ? undefined : mkdtempSync(join(tmpdir(), 'ballast-'));
  const snapshot = dir === undefined ? [] : ['--snapshot', join(dir, 'snap')];
  const child = spawn(
    NODE,
    [
      ...(opts.nodeArgs ?? []),
      BIN,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
      ...snapshot,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  // Ready means this process logged its start-up line: with SO_REUSEPORT a poll of the shared admin port could be
  // answered by another instance.
  const started = () => out.includes('"msg":"ballast started"');
  try {
    await until(() => started() || child.exitCode !== null, 'ballast to start', { intervalMs: 25 });
  } catch {
    child.kill('SIGKILL');
    throw new Error(`ballast did not start: ${out}`);
  }
  if (!started()) throw new Error(`ballast exited with ${child.exitCode}: ${out}`);
  return {
    child,
    port,
    adminPort,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The sum of one metric's samples matching `labels`, read from the admin port. */
export async function scrape(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = new Map(
      (m[3] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=').map((x) => x.replace(/"/g, '')) as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}
