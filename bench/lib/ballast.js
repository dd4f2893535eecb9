// ballast as the bench scripts run it: one builder for the `ballast serve` command line, so every script runs it
// with a private snapshot file (never the default path, never an earlier run's cache) in a temporary folder that
// is removed when the script exits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEAN_ENV, LEAN_NODE_FLAGS } from '../../bin/lean.js';
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

/** The lean settings the launcher applies (bin/lean.js): `KEY=VALUE` words for env(1) and the V8 flags. */
export const leanEnv = () => Object.entries(LEAN_ENV).map(([k, v]) => `${k}=${v}`);
export const leanFlags = () => [...LEAN_NODE_FLAGS];

/**
 * How ballast is started, for the footprint's comparison (docs/performance.md §2):
 * - `serve`: `node bin/ballast.js serve`, as `npm start`, `npx ballast` and a systemd unit run it;
 * - `image`: the Dockerfile's ENTRYPOINT and the runtime stage's ENV lines, with /app as this checkout;
 * - `unlean`: `serve` with BALLAST_LEAN=0, so without the launcher's settings (what they are worth).
 * env(1) execs what follows, so the process started is ballast itself.
 */
export function startWay(way) {
  const bin = path.join(ROOT, 'bin/ballast.js');
  if (way === 'serve') return [NODE, bin];
  if (way === 'unlean') return ['env', 'BALLAST_LEAN=0', NODE, bin];
  if (way !== 'image') throw new Error(`unknown way ${way}`);
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = text.slice(text.indexOf(' AS runtime'));
  const env = [...runtime.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => `${m[1]}=${m[2]}`);
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text);
  if (!entry) throw new Error('Dockerfile: no ENTRYPOINT [...] line');
  const argv = JSON.parse(entry[1]).map((a) => (a === 'node' ? NODE : a.replace(/^\/app\//, `${ROOT}/`)));
  return ['env', ...env, ...argv];
}

/**
 * `node bin/ballast.js serve` on 127.0.0.1 ports with a private snapshot file. `config` (YAML text, optional) is
 * written to the temporary folder and passed with --config; flags override it. Returns the argv.
 */
export function ballastCommand({ port, upstreamPort, adminPort, logLevel = 'warn', config, snapshotInterval, way }) {
  // The launcher makes the process lean (bin/lean.js) as it does for every user: no flags or environment here.
  const argv = [...startWay(way ?? 'serve'), 'serve'];
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
