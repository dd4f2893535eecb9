// Runs a real authoritative DNS server (BIND 9 `named`, Debian package
// `bind9`) on 127.0.0.1 for end-to-end tests. It never recurses and never
// talks to anything off loopback: `recursion no`, `notify no`, IPv4-only
// (`-4`), listening on 127.0.0.1 only, all query/notify/transfer sources
// pinned to 127.0.0.1.

import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bindPair } from '../../src/server/index.js';
import { buildQuery, header, Packet, tcpExchange, udpExchange } from './client.js';
import { digPath, findExecutable } from './dig.js';

export const BIND_HOST = '127.0.0.1';

export function namedPath(): string | undefined {
  return findExecutable('named', ['/usr/sbin/named']);
}

/** True when both `named` (bind9) and `dig` (dnsutils) can be run. */
export function bindAvailable(): boolean {
  return namedPath() !== undefined && digPath() !== undefined;
}

// ---------------------------------------------------------------------------
// The default zone, e2e.test, and the facts tests assert against.

const BIG_TXT_STRING_COUNT = 6;
const BIG_TXT_STRING_LEN = 240;

/** The character-strings of `big.e2e.test TXT`, in order (6 x 240 bytes). */
export const E2E_BIG_TXT_STRINGS: readonly string[] = Array.from({ length: BIG_TXT_STRING_COUNT }, (_, i) => {
  const prefix = `big${i}-`;
  let s = prefix;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  while (s.length < BIG_TXT_STRING_LEN) s += alphabet[(s.length - prefix.length) % alphabet.length];
  return s;
});

export const E2E = {
  zone: 'e2e.test',
  /** $TTL of the zone: the TTL of every record below unless stated. */
  defaultTtl: 300,
  /** TTL of the SOA RR itself. */
  soaTtl: 120,
  /** SOA MINIMUM field. */
  soaMinimum: 60,
  /** RFC 2308: min(SOA TTL, SOA MINIMUM). BIND puts the SOA in negative answers with this TTL. */
  negativeTtl: 60,
  soa: {
    mname: 'ns.e2e.test.',
    rname: 'hostmaster.e2e.test.',
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 60,
    /** As dig prints the SOA rdata. */
    data: 'ns.e2e.test. hostmaster.e2e.test. 1 3600 600 86400 60',
  },
  ns: { name: 'ns.e2e.test', a: '127.0.0.1' },
  a: { name: 'a.e2e.test', a: '192.0.2.1', aaaa: '2001:db8::1' },
  srv: {
    name: '_http._tcp.svc.e2e.test',
    priority: 0,
    weight: 10,
    port: 80,
    target: 'a.e2e.test.',
    data: '0 10 80 a.e2e.test.',
  },
  txt: { name: 'txt.e2e.test', text: 'hello world', data: '"hello world"' },
  mx: { name: 'mx.e2e.test', preference: 10, exchange: 'mail.e2e.test.', data: '10 mail.e2e.test.' },
  mail: { name: 'mail.e2e.test', a: '192.0.2.25' },
  caa: { name: 'caa.e2e.test', flags: 0, tag: 'issue', value: 'letsencrypt.org', data: '0 issue "letsencrypt.org"' },
  /** Private-use type 65280 in RFC 3597 syntax. dig prints the hex upper-case: `\# 4 0A0B0C0D`. */
  unknown: { name: 'unknown.e2e.test', type: 65280, typeName: 'TYPE65280', rdataHex: '0a0b0c0d' },
  /**
   * ~1.5 kB answer: > 512 (plain UDP) and > 1232 (BIND's EDNS max-udp-size),
   * so BIND sets TC=1 over UDP either way and answers in full over TCP.
   */
  big: { name: 'big.e2e.test', strings: E2E_BIG_TXT_STRINGS },
  /**
   * Owner name is mixed case in the zone. BIND answers a query for
   * `mixed.e2e.test` with the question in the query's case but the answer's
   * owner name in the zone's case (`MiXeD.e2e.test.`).
   */
  mixed: { name: 'MiXeD.e2e.test', a: '192.0.2.7' },
  short: { name: 'short.e2e.test', a: '192.0.2.5', ttl: 5 },
  /** A name that does not exist: NXDOMAIN with the SOA (TTL = negativeTtl) in authority. */
  missing: { name: 'does-not-exist.e2e.test' },
} as const;

/** The zone file served for `e2e.test` by default. */
export const E2E_ZONE_TEXT = [
  `$ORIGIN ${E2E.zone}.`,
  `$TTL ${E2E.defaultTtl}`,
  `@ ${E2E.soaTtl} IN SOA ${E2E.soa.data}`,
  '@ IN NS ns',
  `ns IN A ${E2E.ns.a}`,
  `a IN A ${E2E.a.a}`,
  `a IN AAAA ${E2E.a.aaaa}`,
  `_http._tcp.svc IN SRV ${E2E.srv.data}`,
  `txt IN TXT ${E2E.txt.data}`,
  `mx IN MX ${E2E.mx.data}`,
  `mail IN A ${E2E.mail.a}`,
  `caa IN CAA ${E2E.caa.data}`,
  `unknown IN ${E2E.unknown.typeName} \\# ${E2E.unknown.rdataHex.length / 2} ${E2E.unknown.rdataHex}`,
  `big IN TXT ${E2E_BIG_TXT_STRINGS.map((s) => `"${s}"`).join(' ')}`,
  `MiXeD IN A ${E2E.mixed.a}`,
  `short ${E2E.short.ttl} IN A ${E2E.short.a}`,
  '',
].join('\n');

// ---------------------------------------------------------------------------

export interface StartBindOptions {
  /**
   * Extra zones, zone name -> zone file text (origin = the zone name). Merged
   * over the default `{ 'e2e.test': E2E_ZONE_TEXT }`, so a key `e2e.test`
   * replaces the default zone.
   */
  zones?: Record<string, string>;
  /** Overall bound on startup (all attempts). Default 20 s. */
  startTimeoutMs?: number;
}

export interface BindServer {
  host: string;
  port: number;
  /** PID of the named child. */
  pid: number;
  /** The temp dir holding named.conf and the zone files (removed by stop()). */
  dir: string;
  /** named's stderr (its log, because of -g) so far; the last 64 KiB. */
  log(): string;
  /** Kills exactly this named (SIGTERM, then SIGKILL) and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

const LOG_CAP = 64 * 1024;
const START_ATTEMPTS = 3;
const READY_POLLS = 100;
const READY_POLL_INTERVAL_MS = 100;
const QUERY_TIMEOUT_MS = 300;

class BindStartError extends Error {
  readonly portInUse: boolean;

  constructor(message: string, portInUse: boolean) {
    super(message);
    this.portInUse = portInUse;
  }
}

function tail(s: string, n = 8000): string {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that is free on 127.0.0.1 for both UDP and TCP at the time of the check. */
export async function pickFreePort(): Promise<number> {
  const { udp, tcp, port } = await bindPair(
    0,
    async (p) => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(p, BIND_HOST, () => resolve());
      });
      return { port: socket.address().port, close: () => new Promise<void>((r) => socket.close(() => r())) };
    },
    (p) =>
      new Promise<net.Server>((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen({ port: p, host: BIND_HOST, exclusive: true }, () => resolve(server));
      }),
  );
  await udp.close();
  await new Promise<void>((r) => tcp.close(() => r()));
  return port;
}

function namedConf(dir: string, port: number, zoneFiles: Array<{ zone: string; file: string }>): string {
  const q = (s: string) => JSON.stringify(s);
  return `options {
  directory ${q(dir)};
  pid-file ${q(path.join(dir, 'named.pid'))};
  session-keyfile ${q(path.join(dir, 'session.key'))};
  managed-keys-directory ${q(dir)};
  dump-file ${q(path.join(dir, 'cache_dump.db'))};
  statistics-file ${q(path.join(dir, 'named.stats'))};
  memstatistics-file ${q(path.join(dir, 'named.memstats'))};
  listen-on port ${port} { ${BIND_HOST}; };
  listen-on-v6 { none; };
  query-source address ${BIND_HOST};
  notify-source ${BIND_HOST};
  transfer-source ${BIND_HOST};
  recursion no;
  allow-recursion { none; };
  dnssec-validation no;
  notify no;
  minimal-responses no-auth;
  allow-transfer { none; };
  allow-update { none; };
};
controls { };
${zoneFiles.map(({ zone, file }) => `zone ${q(zone)} { type primary; file ${q(file)}; };`).join('\n')}
`;
}

/**
 * True when named answers `zone SOA` over `transport` authoritatively: the query's ID, QR and AA set, NOERROR, at
 * least one answer.
 * No answer in time, or a socket error (named not listening yet), is false: the caller polls again.
 */
async function soaOk(port: number, zone: string, transport: 'udp' | 'tcp'): Promise<boolean> {
  const q = buildQuery(zone, Packet.TYPE.SOA, { rd: false });
  try {
    const answer =
      transport === 'udp'
        ? await udpExchange(port, q, QUERY_TIMEOUT_MS, BIND_HOST)
        : (await tcpExchange(port, [q], 1, BIND_HOST, QUERY_TIMEOUT_MS * 3))[0];
    if (answer === null || answer.length < 12) return false;
    const h = header(answer);
    return h.id === q.readUInt16BE(0) && h.qr && h.aa && h.rcode === 0 && h.ancount >= 1;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitExit(child, 5000)) return;
  child.kill('SIGKILL');
  await waitExit(child, 2000);
}

async function startOnce(named: string, zones: Record<string, string>, deadline: number): Promise<BindServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ballast-bind-'));
  let child: ChildProcess | undefined;
  let log = '';
  const onProcessExit = () => {
    // Last resort if the test runner exits without calling stop().
    child?.kill('SIGKILL');
  };
  try {
    const zoneFiles = Object.entries(zones).map(([zone, text], i) => ({
      zone: zone.replace(/\.$/, '') || '.',
      file: path.join(dir, `zone${i}.db`),
      text,
    }));
    for (const z of zoneFiles) await writeFile(z.file, z.text.endsWith('\n') ? z.text : `${z.text}\n`);
    const port = await pickFreePort();
    const conf = path.join(dir, 'named.conf');
    await writeFile(conf, namedConf(dir, port, zoneFiles));

    // -g: foreground, all logging to stderr (config logging ignored)
    // -4: IPv4 only; -n 1: one worker thread (plenty for tests, 2-core box)
    // No -u: as root named simply stays root; as a normal user it runs as that user.
    const spawned = spawn(named, ['-g', '-4', '-n', '1', '-c', conf], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    process.on('exit', onProcessExit);
    const append = (d: Buffer) => {
      log += d.toString('utf8');
      if (log.length > LOG_CAP) log = log.slice(-LOG_CAP);
    };
    spawned.stdout?.on('data', append);
    spawned.stderr?.on('data', append);
    let spawnError: Error | undefined;
    spawned.on('error', (e) => {
      spawnError = e;
    });

    const exited = () => spawned.exitCode !== null || spawned.signalCode !== null;
    const fail = (why: string): never => {
      const portInUse = /address in use|unable to listen on any configured interfaces/i.test(log);
      throw new BindStartError(
        `named failed to start on ${BIND_HOST}:${port}: ${why}\n--- named stderr ---\n${tail(log)}`,
        portInUse,
      );
    };

    const zoneNames = zoneFiles.map((z) => z.zone);
    let ready = false;
    for (let i = 0; i < READY_POLLS && Date.now() < deadline; i++) {
      if (spawnError) fail(`spawn error: ${spawnError.message}`);
      if (exited()) fail(`named exited early (code ${spawned.exitCode}, signal ${spawned.signalCode})`);
      const broken = /zone (\S+): not loaded due to errors/.exec(log);
      if (broken) fail(`zone ${broken[1]} did not load`);
      const oks = await Promise.all(zoneNames.map((z) => soaOk(port, z, 'udp')));
      if (oks.every(Boolean) && (await soaOk(port, zoneNames[0], 'tcp'))) {
        ready = true;
        break;
      }
      await sleep(READY_POLL_INTERVAL_MS);
    }
    if (!ready) {
      if (exited()) fail(`named exited early (code ${spawned.exitCode}, signal ${spawned.signalCode})`);
      fail(`no authoritative SOA answer over UDP+TCP for ${zoneNames.join(', ')} in time`);
    }

    let stopping: Promise<void> | undefined;
    return {
      host: BIND_HOST,
      port,
      pid: spawned.pid!,
      dir,
      log: () => log,
      stop() {
        stopping ??= (async () => {
          await killChild(spawned);
          process.off('exit', onProcessExit);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (err) {
    if (child) await killChild(child);
    process.off('exit', onProcessExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts named on 127.0.0.1:<free port> serving `e2e.test` (see E2E /
 * E2E_ZONE_TEXT) plus `opts.zones`, and resolves once every zone answers an
 * authoritative SOA query over UDP and the first one over TCP. Throws, with
 * named's stderr, if that does not happen within the bounds.
 */
export async function startBind(opts: StartBindOptions = {}): Promise<BindServer> {
  const named = namedPath();
  if (!named) throw new Error('named not found on PATH or at /usr/sbin/named (apt-get install bind9)');
  const zones = { [E2E.zone]: E2E_ZONE_TEXT, ...opts.zones };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let last: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(named, zones, deadline);
    } catch (err) {
      last = err;
      // The port was free when picked but someone took it before named bound it: try another.
      if (!(err instanceof BindStartError && err.portInUse) || Date.now() >= deadline) break;
    }
  }
  throw last;
}
