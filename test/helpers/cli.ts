// Runs the built CLI (bin/ballast.js → dist/) as a child process, the way an operator would.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pickFreePort } from './bind.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = process.execPath;
export const BIN = `${root}bin/ballast.js`;

/** Builds dist/ when it is missing or older than any file in src/, so these tests never run stale output. */
export function ensureBuilt(): void {
  const built = `${root}dist/cli.js`;
  const newest = (readdirSync(`${root}src`, { recursive: true }) as string[])
    .map((f) => statSync(`${root}src/${f}`).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
  if (!existsSync(built) || statSync(built).mtimeMs < newest) {
    execFileSync(`${root}node_modules/.bin/tsc`, ['-p', `${root}tsconfig.build.json`]);
  }
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly adminPort: number;
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `ballast serve` on free loopback ports with the given extra args; resolves once /ready answers 200. */
export async function startCli(args: string[]): Promise<CliProcess> {
  ensureBuilt();
  const port = await pickFreePort();
  const adminPort = await pickFreePort();
  const child = spawn(
    NODE,
    [BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${adminPort}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`ballast exited with ${child.exitCode}: ${out}`);
    const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 200) {
      child.kill('SIGKILL');
      throw new Error(`ballast did not become ready: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
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
