// Shared by the bench scripts: free loopback ports, a small dns2 server on UDP and TCP at one port, and ballast's CLI
// as a child process.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dns2 from 'dns2';

export const HOST = '127.0.0.1';

/** A port free for both TCP and UDP on 127.0.0.1 (bind port 0, close, check UDP). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, HOST, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, HOST, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** A dns2 server answering with `handle(request, send)` on UDP and TCP at one free port of 127.0.0.1. */
export async function startDnsServer(handle) {
  const port = await freePort();
  const udp = dns2.createServer({ udp: { type: 'udp4' }, handle });
  udp.on('requestError', () => {});
  await udp.listen({ udp: { port, address: HOST } });
  const tcp = dns2.createServer({ tcp: true, handle });
  tcp.on('requestError', () => {});
  await tcp.listen({ tcp: { port, address: HOST } });
  return { port, close: () => Promise.all([udp.close(), tcp.close()]) };
}

export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** The project's Node 24 (the `node` devDependency) when installed, else the one running this script. */
export const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node'))
  ? path.join(ROOT, 'node_modules/.bin/node')
  : process.execPath;

/**
 * Starts `ballast ARGS` (the built CLI, log level info or lower) with its output captured. `started()` resolves once
 * it logged its start-up line, which identifies this process even when another instance shares its ports.
 */
export function spawnBallast(args, name = 'ballast') {
  const child = spawn(NODE, [path.join(ROOT, 'bin/ballast.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    name,
    child,
    exited,
    log: () => log,
    async started() {
      for (let i = 0; i < 400 && !log.includes('"msg":"ballast started"'); i++) {
        if (child.exitCode !== null) throw new Error(`${name} exited: ${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      if (!log.includes('"msg":"ballast started"')) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not start: ${log}`);
      }
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Processes started by this script: stopAll() ends them (by PID), also on error or Ctrl-C. */
const children = new Set();

/** Starts a child (stdout piped unless given; stderr to `stderrFile` or discarded) and tracks it until it exits. */
export function startProcess(name, argv, { stdout = 'pipe', stderrFile } = {}) {
  const stderr = stderrFile ? fs.openSync(stderrFile, 'w') : 'ignore';
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', stdout, stderr] });
  if (typeof stderr === 'number') fs.closeSync(stderr);
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

/** SIGTERM, then SIGKILL after 15 s (ballast drains for server.drainPeriodMs and writes a snapshot first). */
export async function stopProcess(child) {
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
  }, 15_000);
  await child.exited;
  clearTimeout(timer);
}

export const stopAll = () => Promise.all([...children].map(stopProcess));

/** An argv run under `taskset -c CPU`. */
export const pinned = (cpu, argv) => ['taskset', '-c', cpu, ...argv];

/** Resolves the first stdout line of `child` parsed as JSON (the servers print {"port":N} when bound). */
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

/** dnsperf's version, or null when it is not installed. */
export function dnsperfVersion() {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  if (r.error) return null;
  return /Version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}
