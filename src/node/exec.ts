import { execFile } from 'node:child_process';

/** What one program run produced. A run that never exited normally still yields a result, never a throw. */
export interface ExecResult {
  /** Exit status; 127 when the program could not be started, 124 when it was killed at its timeout (timeout(1)). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one program with its arguments, never through a shell. Injected, so tests run it inside a namespace. */
export type Exec = (file: string, args: readonly string[]) => Promise<ExecResult>;

export interface ExecOptions {
  /** Kill the program after this long (SIGKILL). Above the xtables lock wait, so `-w` gives up first. */
  readonly timeoutMs?: number;
  /** Words run in front of every command, e.g. `['ip', 'netns', 'exec', 'NS']`. */
  readonly prefix?: readonly string[];
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** The real executor: child_process.execFile with a timeout and a bounded output buffer. */
export function createExec(opts: ExecOptions = {}): Exec {
  const timeout = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const prefix = opts.prefix ?? [];
  return (file, args) => {
    const argv = prefix.length > 0 ? [...prefix.slice(1), file, ...args] : [...args];
    const program = prefix.length > 0 ? prefix[0] : file;
    return new Promise((resolve) => {
      execFile(
        program,
        argv,
        {
          timeout,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          encoding: 'utf8',
          env: { ...process.env, LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          if (err === null) return resolve({ code: 0, stdout, stderr });
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
          if (e.killed) return resolve({ code: 124, stdout, stderr: `${stderr}killed after ${timeout} ms` });
          resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` });
        },
      );
    });
  };
}

/** One line for logs: the command as typed, and the first line of what it said when it failed. */
export function describeRun(file: string, args: readonly string[], r?: ExecResult): string {
  const cmd = [file, ...args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a))].join(' ');
  if (r === undefined || r.code === 0) return cmd;
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n')[0];
  return `${cmd}: exit ${r.code}${said ? `: ${said}` : ''}`;
}
