// Child processes of a bench script. Every one is tracked from start to exit and stopped by its PID only, never by
// name, so a bench run cannot touch anything it did not start; runMain() stops them all on error and on Ctrl-C.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ROOT } from './env.js';
import { UsageError } from './options.js';

const children = new Set();

/**
 * Starts `argv` (cwd: the repository root) and tracks it until it exits. `stdout` and `stderr` take spawn's stdio
 * values ('pipe', 'ignore', 'inherit', a file descriptor); `stderrFile` sends stderr to that file instead.
 * The child gets `benchName`, `exited` (resolves { code, signal, error }) and, once exited, `exitInfo`.
 */
export function startProcess(name, argv, { stdout = 'pipe', stderr = 'ignore', stderrFile } = {}) {
  const errFd = stderrFile ? fs.openSync(stderrFile, 'w') : stderr;
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', stdout, errFd] });
  if (stderrFile) fs.closeSync(errFd);
  child.benchName = name;
  child.exited = new Promise((resolve) => {
    const done = (info) => {
      children.delete(child);
      child.exitInfo = info;
      resolve(info);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (error) => done({ code: null, signal: null, error }));
  });
  children.add(child);
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs` (ballast drains for server.drainPeriodMs and writes a snapshot first). */
export async function stopProcess(child, graceMs = 15_000) {
  if (!child || child.exitInfo || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
}

export const stopAll = () => Promise.all([...children].map((c) => stopProcess(c)));

/** An argv run under `taskset -c CPU`; taskset execs the program, so the child's PID is the program's own. */
export const pinned = (cpu, argv) => ['taskset', '-c', cpu, ...argv];

/** Resolves the first stdout line of `child` parsed as JSON (bench/upstream.js and responder.js print their ports). */
export function readJsonLine(child, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    let settled = false;
    const settle = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(v);
    };
    const timer = setTimeout(() => settle(reject, new Error(`${child.benchName} printed no JSON line`)), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        settle(resolve, JSON.parse(buf.slice(0, nl)));
      } catch (err) {
        settle(reject, err);
      }
    });
    child.exited.then((info) => settle(reject, new Error(`${child.benchName} exited early (${JSON.stringify(info)})`)));
  });
}

/** The last `lines` lines of a file, for error messages about a child that failed. */
export function tailOf(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Runs a script's `main()`: its resolved number becomes the exit status; an error is printed and exits 1 (a UsageError:
 * its message only, exit 2); SIGINT and SIGTERM exit 130. In every case the children started here are stopped first.
 */
export function runMain(name, main) {
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${name}: ${sig}, stopping child processes\n`);
      await stopAll();
      process.exit(130);
    });
  }
  main().then(
    async (code) => {
      await stopAll();
      if (typeof code === 'number') process.exitCode = code;
    },
    async (err) => {
      if (stopping) return; // the children it waited for were stopped by the signal handler, which exits
      process.stderr.write(`${name}: ${err instanceof UsageError ? err.message : (err?.stack ?? err)}\n`);
      await stopAll();
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
