// A throwaway network namespace per test file, and what the node tests need to run in one: root, `ip` and the
// iptables programs. Without root, the tests are skipped on a workstation (with the reason in the test name) and
// fail in CI (process.env.CI), where a skipped node test would hide a broken contract.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createExec, type Exec } from '../../src/node/index.js';

const run = promisify(execFile);

export interface Netns {
  readonly name: string;
  /** Runs a program inside the namespace; non-zero exits are results, not throws. */
  readonly exec: Exec;
  /** Runs a program inside the namespace and returns its stdout; throws with its stderr on failure. */
  sh(file: string, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function createNetns(): Promise<Netns> {
  const name = `ballast-test-${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  const exec = createExec({ prefix: ['ip', 'netns', 'exec', name], timeoutMs: 20_000 });
  const sh = async (file: string, ...args: string[]) => {
    const r = await exec(file, args);
    if (r.code !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  await sh('ip', 'link', 'set', 'dev', 'lo', 'up');
  return {
    name,
    exec,
    sh,
    close: async () => {
      await run('ip', ['netns', 'del', name]).catch(() => {});
    },
  };
}

/** Program names each iptables mode needs. */
export const PROGRAMS = {
  nft: ['iptables-nft', 'ip6tables-nft', 'iptables-nft-save'],
  legacy: ['iptables-legacy', 'ip6tables-legacy', 'iptables-legacy-save'],
} as const;

export interface Environment {
  /** Set when the tests cannot run here: skip with this reason (workstation) ... */
  readonly skip?: string;
  /** ... or fail with this message (CI, or root without the packages). */
  readonly fail?: string;
}

async function works(file: string, args: string[]): Promise<boolean> {
  try {
    await run(file, args);
    return true;
  } catch {
    return false;
  }
}

export async function nodeEnvironment(): Promise<Environment> {
  const root = process.getuid?.() === 0;
  if (!root) {
    const reason = 'the node networking tests need root (ip netns, iptables); run them as root';
    return process.env.CI ? { fail: `${reason}: CI must run them` } : { skip: reason };
  }
  const missing: string[] = [];
  if (!(await works('ip', ['-V']))) missing.push('ip');
  for (const prog of [...PROGRAMS.nft, ...PROGRAMS.legacy]) {
    if (!(await works(prog, prog.endsWith('-save') ? ['--version'] : ['-V']))) missing.push(prog);
  }
  if (missing.length > 0) {
    const reason = `missing ${missing.join(', ')}: apt-get install -y iproute2 iptables`;
    return process.env.CI ? { fail: `${reason}: CI must run them` } : { skip: reason };
  }
  return {};
}

/** Rules listed by `iptables -S` for one table, in the namespace (chain policies included). */
export async function listRules(ns: Netns, program: string, table: 'raw' | 'filter' | 'mangle'): Promise<string[]> {
  const out = await ns.sh(program, '-w', '5', '-t', table, '-S');
  return out.split('\n').filter((l) => l.length > 0);
}
