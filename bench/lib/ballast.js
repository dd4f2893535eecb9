// ballast as the bench scripts run it: one builder for the `ballast serve` command line, so every script runs it
// with a private snapshot file (never the default path, never an earlier run's cache) in a temporary folder that
// is removed when the script exits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST, NODE, ROOT, sleep } from './env.js';
import { startProcess } from './processes.js';

let dir = null;
let files = 0;

/** This process's temporary folder (created on first use, removed at exit). */
export function tempDir() {
  if (!dir) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-bench-'));
    dir = made;
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

export const isBuilt = () => fs.existsSync(path.join(ROOT, 'dist/cli.js'));

/**
 * The environment the image sets for ballast (the runtime stage's `ENV` lines of the Dockerfile, e.g.
 * MALLOC_ARENA_MAX), as `KEY=VALUE` words for env(1).
 */
export function imageEnv() {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = text.slice(text.indexOf(' AS runtime'));
  return [...runtime.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => `${m[1]}=${m[2]}`);
}

/**
 * The V8 flags of the image's ENTRYPOINT (Dockerfile): the bench runs ballast as the DaemonSet does, so that its
 * memory figures are the pod's. Read from the Dockerfile itself, so the two cannot drift apart.
 */
export function nodeFlags() {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text);
  if (!entry) throw new Error('Dockerfile: no ENTRYPOINT [...] line');
  const argv = JSON.parse(entry[1]);
  return argv.slice(1, argv.indexOf('/app/bin/ballast.js')).filter((a) => a.startsWith('--'));
}

/**
 * `node bin/ballast.js serve` on 127.0.0.1 ports with a private snapshot file. `config` (YAML text, optional) is
 * written to the temporary folder and passed with --config; flags override it. Returns the argv.
 */
export function ballastCommand({ port, upstreamPort, adminPort, logLevel = 'warn', config, snapshotInterval }) {
  // env(1) and taskset exec what follows, so the process started is ballast itself, with the image's environment.
  const argv = ['env', ...imageEnv(), NODE, ...nodeFlags(), path.join(ROOT, 'bin/ballast.js'), 'serve'];
  files++;
  if (config) {
    const file = path.join(tempDir(), `config-${files}.yaml`);
    fs.writeFileSync(file, config.endsWith('\n') ? config : `${config}\n`);
    argv.push('--config', file);
  }
  argv.push('--listen', `${HOST}:${port}`);
  if (upstreamPort) argv.push('--upstream', `${HOST}:${upstreamPort}`);
  if (adminPort) argv.push('--admin', `${HOST}:${adminPort}`);
  argv.push('--log-level', logLevel, '--snapshot', path.join(tempDir(), `cache-${files}.snapshot`));
  if (snapshotInterval) argv.push('--snapshot-interval', String(snapshotInterval));
  return argv;
}

/**
 * Starts a ballast argv (log level info or lower) with its output captured. `started()` resolves once it logged
 * its start-up line, which identifies this process even when another instance shares its ports; `exited`
 * resolves its exit code.
 */
export function spawnBallast(argv, name = 'ballast') {
  const child = startProcess(name, argv, { stdout: 'pipe', stderr: 'pipe' });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = child.exited.then((info) => info.code);
  return {
    name,
    child,
    exited,
    log: () => log,
    async started() {
      for (let i = 0; i < 400 && !log.includes('"msg":"ballast started"'); i++) {
        if (child.exitInfo) throw new Error(`${name} exited: ${log}`);
        await sleep(25);
      }
      if (!log.includes('"msg":"ballast started"')) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not start: ${log}`);
      }
    },
  };
}
