// Differential conformance run: ballast and BIND 9, the latter as a forwarding resolver, both in front of one
// scripted fake upstream, are sent the same probes, odd ones included, and their answers are set side by side with
// what the RFCs expect.
//
// The fake upstream (in this process, UDP and TCP on 127.0.0.1) serves conf.test: an answer with the AD bit set, a
// CNAME to a name with no AAAA (NODATA, SOA TTL 600 and MINIMUM 5), a CNAME-only answer, plain A records; any CH-class
// query gets TXT "fake-coredns-identity" (so a forwarded one shows), anything else NOERROR/NODATA with an SOA. A
// second fake, for old.test, answers FORMERR without an OPT to every query that carries one (a server from before
// EDNS). Both log every query they get, so the report says whether each probe was forwarded; the main one can be
// blackholed (stops answering) to ask for a stale answer.
//
// ballast runs from dist/ with --upstream pointing at the main fake and a zone old.test pointing at the second; named
// runs with recursion on, DNSSEC validation off, serve-stale on, and forward-only zones for ".", conf.test and
// old.test to the same fakes, plus a root hint naming only 127.0.0.1. Nothing leaves 127.0.0.0/8. Each probe goes to
// ballast, then to BIND, over UDP; the timed cases ask again later (TTL rounding at 1.25 s and 1.5 s, the negative TTL
// at 2 s and 6.5 s), and serve-stale is asked last, with the main fake blackholed.
//
// Usage: npm run build && ./node_modules/.bin/node bench/conformance.js [options]   (about 15 s; BIND 9's named)
//   --out FILE          the markdown report (default bench/results/conformance.md)
//   --json FILE         the figures (default bench/out/conformance.json)
//   --named PATH        BIND's named (default /usr/sbin/named)
//   --time-limit S      stop everything and fail after S seconds (default 110)
//   --help
// named's and ballast's logs go to bench/out/conformance-named.log and conformance-ballast.log. Only the processes
// this script starts are stopped, by PID; its temporary folders are removed at the end.

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ballastCommand, isBuilt, spawnBallast } from './lib/ballast.js';
import {
  buildQuery,
  CLASS,
  differences,
  FAKE_IDENTITY,
  FAKE_SOA,
  FAKE_ZONE,
  fakeAnswer,
  nameOfLength,
  parseMessage,
  renderReport,
  summaryOf,
  TYPE,
  upstreamText,
} from './lib/conformance.js';
import { udpExchange } from './lib/dns-exchange.js';
import { displayCommand, ensureOutDir, HOST, OUT_DIR, RESULTS_DIR, ROOT, sleep } from './lib/env.js';
import { freePort } from './lib/net.js';
import { parseOptionsOrExit, reportPath } from './lib/options.js';
import { runMain, startProcess, stopAll, stopProcess } from './lib/processes.js';
import { writeReport } from './lib/report.js';

const opts = parseOptionsOrExit(import.meta.url, {
  out: { type: 'path', figures: false },
  json: { type: 'path', figures: false },
  named: { type: 'path', default: '/usr/sbin/named' },
  timeLimit: { type: 'int', default: 110, min: 30, max: 600, figures: false },
});

const PROBE_TIMEOUT_MS = 2000;
/** Serve-stale waits for the clients' 1.8 s response timer (RFC 8767 §5) or an upstream deadline: give it longer. */
const STALE_TIMEOUT_MS = 6000;
/** After an answer, how long upstream queries still count as the probe's (a refresh sent after answering). */
const SETTLE_MS = 25;
/** A one-shot probe is not started when a timed step falls due within this (a probe takes about SETTLE_MS + 5 ms). */
const ONE_SHOT_SLOT_MS = 60;
const BALLAST_LOG = path.join(OUT_DIR, 'conformance-ballast.log');
const NAMED_LOG = path.join(OUT_DIR, 'conformance-named.log');

// ---------------------------------------------------------------------------------------------------------------
// The fake upstreams

const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);

/** Every query either fake received, in order: { at, role, transport, name, type, cls, edns, do, dropped }. */
const upstreamLog = [];

function bindUdp(port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function listenTcp(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: HOST, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** One fake upstream: `role` 'main' or 'old' (see lib/conformance.js fakeAnswer). `blackhole` drops every query. */
async function startFake(role) {
  const fake = { role, blackhole: false, port: 0, close: null };
  const handle = (msg, transport) => {
    const { reply, seen } = fakeAnswer(msg, { role });
    if (seen) upstreamLog.push({ at: now(), role, transport, ...seen, dropped: fake.blackhole });
    return fake.blackhole ? null : reply;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const udp = await bindUdp(0);
    const port = udp.address().port;
    const sockets = new Set();
    const tcp = net.createServer((sock) => {
      sockets.add(sock);
      let buf = Buffer.alloc(0);
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const reply = handle(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (reply) sock.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 255]), reply]));
        }
      });
      sock.on('error', () => {});
      sock.on('close', () => sockets.delete(sock));
    });
    try {
      await listenTcp(tcp, port);
    } catch {
      udp.close();
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      const reply = handle(msg, 'udp');
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    udp.on('error', () => {});
    fake.port = port;
    fake.close = async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
      await new Promise((r) => udp.close(r));
    };
    return fake;
  }
  throw new Error(`fake upstream (${role}): no port free for both UDP and TCP`);
}

// ---------------------------------------------------------------------------------------------------------------
// The servers under test

/** Resolves once `port` answers `ready.conf.test A` with an address (so forwarding works), or throws. */
async function waitReady(name, port, exitedInfo, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let id = 1;
  while (Date.now() < deadline) {
    if (exitedInfo()) throw new Error(`${name} exited early (${JSON.stringify(exitedInfo())})`);
    const raw = await udpExchange(port, buildQuery({ id: id++, name: FAKE_ZONE.ready.name }), 500, HOST).catch(
      () => null,
    );
    const m = raw && parseMessage(raw);
    if (m && m.rcode === 0 && m.answer.some((r) => r.type === TYPE.A)) return;
    await sleep(100);
  }
  throw new Error(`${name} did not answer ${FAKE_ZONE.ready.name} on ${HOST}:${port} within ${timeoutMs / 1000} s`);
}

async function startBallast(mainPort, oldPort) {
  const port = await freePort();
  const adminPort = await freePort();
  // ballastCommand() writes the config to its temporary folder, removed when this process exits.
  const config = [
    'server:',
    '  drainPeriodMs: 0',
    'zones:',
    `  - name: ${FAKE_ZONE.oldApex}`,
    `    servers: ["${HOST}:${oldPort}"]`,
  ].join('\n');
  const argv = ballastCommand({ port, upstreamPort: mainPort, adminPort, logLevel: 'info', config });
  const ballast = spawnBallast(argv, 'ballast');
  try {
    await ballast.started();
    await waitReady('ballast', port, () => ballast.child.exitInfo);
  } catch (err) {
    fs.writeFileSync(BALLAST_LOG, ballast.log());
    throw err;
  }
  return { name: 'ballast', port, child: ballast.child, log: ballast.log, argv, config };
}

function namedConf(dir, port, mainPort, oldPort) {
  const q = (s) => JSON.stringify(s);
  const fwd = (p) => `forwarders { ${HOST} port ${p}; }`;
  return `options {
  directory ${q(dir)};
  pid-file ${q(path.join(dir, 'named.pid'))};
  session-keyfile ${q(path.join(dir, 'session.key'))};
  managed-keys-directory ${q(dir)};
  dump-file ${q(path.join(dir, 'cache_dump.db'))};
  statistics-file ${q(path.join(dir, 'named.stats'))};
  listen-on port ${port} { ${HOST}; };
  listen-on-v6 { none; };
  query-source address ${HOST};
  notify-source ${HOST};
  transfer-source ${HOST};
  recursion yes;
  allow-recursion { ${HOST}; };
  allow-query-cache { ${HOST}; };
  dnssec-validation no;
  notify no;
  max-cache-size 64m;
  stale-answer-enable yes;
  stale-cache-enable yes;
  stale-answer-client-timeout 1800;
};
controls { };
zone "." { type hint; file ${q(path.join(dir, 'root.hint'))}; };
zone "." { type forward; forward only; ${fwd(mainPort)}; };
zone "conf.test" { type forward; forward only; ${fwd(mainPort)}; };
zone "${FAKE_ZONE.oldApex}" { type forward; forward only; ${fwd(oldPort)}; };
`;
}

async function startBind(mainPort, oldPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-conformance-named-'));
  // Removed at the end of main(), and here too when the time limit or Ctrl-C ends the run first.
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const conf = namedConf(dir, port, mainPort, oldPort);
  fs.writeFileSync(path.join(dir, 'named.conf'), conf);
  // The only root server named knows of is 127.0.0.1: even a priming query stays on loopback.
  fs.writeFileSync(path.join(dir, 'root.hint'), '. 3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.1\n');
  const argv = [opts.named, '-4', '-g', '-n', '1', '-c', path.join(dir, 'named.conf')];
  const child = startProcess('named', argv, { stdout: 'ignore', stderrFile: NAMED_LOG });
  const server = { name: 'BIND', port, child, dir, conf };
  try {
    await waitReady('named', port, () => child.exitInfo);
  } catch (err) {
    await stopProcess(child, 5000);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------------------------
// Probes

let nextId = 0x1000;

/** Sends one query to one server; the result keeps the parsed answer and the upstream queries seen meanwhile. */
async function ask(server, query, { timeoutMs = PROBE_TIMEOUT_MS, label = null } = {}) {
  const id = nextId++ & 0xffff;
  const bytes = buildQuery({ ...query, id });
  const from = upstreamLog.length;
  const at = now();
  const raw = await udpExchange(server.port, bytes, timeoutMs, HOST).catch(() => null);
  const ms = now() - at;
  await sleep(SETTLE_MS);
  return {
    label,
    at,
    ms,
    timeoutMs,
    query: bytes.toString('hex'),
    raw: raw ? raw.toString('hex') : null,
    response: raw ? parseMessage(raw) : null,
    upstream: upstreamLog.slice(from),
  };
}

const has = (m, type) => m?.answer.some((r) => r.type === type);
const identityForwarded = (m) =>
  !!m?.answer.some((r) => r.type === TYPE.TXT && Array.isArray(r.data) && r.data.join('') === FAKE_IDENTITY);

/**
 * The one-shot cases: a query each, asked once of each server. `check(probe)` is true or false where the RFCs are
 * clear-cut, null where they leave a choice (no mark in the report).
 */
const ONE_SHOT = [
  {
    id: 'ad-plain',
    title: 'AD set upstream; query without DO or AD',
    expects:
      'AD clear: a non-validating server does not vouch for the data (RFC 4035 §3.2.3), and AD only to a query with DO or AD set (RFC 6840 §5.8)',
    query: { name: 'ad.conf.test' },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'ad-do',
    title: 'AD set upstream; query with DO=1',
    expects: 'AD clear: not validated here (RFC 4035 §3.2.3); OPT with DO echoed (RFC 3225 §3)',
    query: { name: 'ad-do.conf.test', edns: { do: true } },
    check: (p) => (p.response ? !p.response.ad && !!p.response.opt : false),
  },
  {
    id: 'ad-do-cached',
    title: 'AD: DO=1 query for the entry `ad-plain` cached',
    expects: 'AD clear (RFC 4035 §3.2.3)',
    query: { name: 'ad.conf.test', edns: { do: true } },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'ad-query-bit',
    title: 'AD set upstream; query with AD=1, no EDNS',
    expects: 'AD clear: AD=1 in a query asks for AD only where validated (RFC 6840 §5.7, RFC 4035 §3.2.3)',
    query: { name: 'ad-ad.conf.test', ad: true },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'edns-formerr',
    title: 'EDNS query; its upstream answers FORMERR without OPT (old.test)',
    expects:
      'The server retries upstream without EDNS (RFC 6891 §6.2.2, §7) and answers NOERROR with the A; OPT in the reply, the query had one (§7)',
    query: { name: 'a.old.test', edns: {} },
    check: (p) => p.response?.rcode === 0 && has(p.response, TYPE.A) && !!p.response.opt,
  },
  {
    id: 'no-edns-old',
    title: 'Query without EDNS to the same upstream (old.test)',
    expects: 'NOERROR with the A; no OPT in the reply (RFC 6891 §7)',
    query: { name: 'b.old.test' },
    check: (p) => p.response?.rcode === 0 && has(p.response, TYPE.A) && !p.response.opt,
  },
  {
    id: 'ch-version',
    title: 'CH TXT version.bind',
    expects:
      'A convention, not a standard (RFC 4892 §2): this server answers or refuses; forwarding shows the upstream’s TXT',
    query: { name: 'version.bind', type: TYPE.TXT, cls: CLASS.CH },
    check: () => null,
  },
  {
    id: 'ch-id',
    title: 'CH TXT id.server',
    expects: 'Identifies the server that answers, not its upstream (RFC 4892 §2–3): not forwarded',
    query: { name: 'id.server', type: TYPE.TXT, cls: CLASS.CH },
    check: (p) => (p.response ? !identityForwarded(p.response) : false),
  },
  {
    id: 'qclass-none',
    title: 'QCLASS NONE (254), A',
    expects: 'NONE has a meaning only in UPDATE (RFC 2136 §2.4, RFC 6895 §3.2); REFUSED, NOTIMP or FORMERR usual',
    query: { name: 'none.conf.test', cls: CLASS.NONE },
    check: () => null,
  },
  {
    id: 'qtype-opt',
    title: 'QTYPE OPT (41)',
    expects:
      'A meta-TYPE, data of one message only (RFC 6895 §3.1): never cached or forwarded as data (RFC 6891 §6.1.1); FORMERR usual',
    query: { name: 'meta.conf.test', type: TYPE.OPT },
    check: () => null,
  },
  {
    id: 'qtype-tsig',
    title: 'QTYPE TSIG (250), no TSIG record',
    expects: 'A meta-TYPE (RFC 6895 §3.1), not a query for data; FORMERR usual; not forwarded',
    query: { name: 'meta.conf.test', type: TYPE.TSIG },
    check: () => null,
  },
  {
    id: 'qtype-mailb',
    title: 'QTYPE MAILB (253)',
    expects: 'A QTYPE for MB, MG, MR (RFC 1035 §3.2.3), long obsolete; NOTIMP allowed (RFC 1035 §4.1.1)',
    query: { name: 'meta.conf.test', type: TYPE.MAILB },
    check: () => null,
  },
  {
    id: 'qtype-maila',
    title: 'QTYPE MAILA (254)',
    expects: 'A QTYPE for MD/MF (RFC 1035 §3.2.3), obsolete (RFC 973); NOTIMP allowed (RFC 1035 §4.1.1)',
    query: { name: 'meta.conf.test', type: TYPE.MAILA },
    check: () => null,
  },
  {
    id: 'long-qname',
    title: 'A qname of 256 octets on the wire',
    expects: 'FORMERR: a name is at most 255 octets (RFC 1035 §2.3.4, §4.1.1); not forwarded',
    query: { name: nameOfLength(256) },
    check: (p) => p.response?.rcode === 1 && p.upstream.length === 0,
  },
  {
    id: 'trailing-bytes',
    title: '4 bytes after the question, ARCOUNT 0',
    expects: 'The message is longer than its sections (RFC 1035 §4.1): FORMERR, or the bytes ignored',
    query: { name: 'trail.conf.test', trailing: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
    check: () => null,
  },
  {
    id: 'cname-only',
    title: 'Upstream answers only a CNAME (to elsewhere.other.test)',
    expects:
      'A recursive server restarts at the target and answers the chain, CNAME + A (RFC 1034 §3.6.2, §4.3.2 step 3a)',
    query: { name: FAKE_ZONE.cnameOnly.name },
    check: (p) => has(p.response, TYPE.CNAME) && has(p.response, TYPE.A),
  },
];

const ttlOf = (p, type) => p?.response?.answer.find((r) => r.type === type)?.ttl ?? null;

async function runProbes(servers, fakes) {
  const results = new Map();
  const put = (id, server, steps) => {
    if (!results.has(id)) results.set(id, {});
    results.get(id)[server.name] = steps;
  };

  // Seeds and first steps of the timed cases.
  for (const s of servers) {
    put('stale-do', s, [await ask(s, { name: FAKE_ZONE.stale.name, edns: { do: false } }, { label: 'DO=0, cached' })]);
    put('cname-nodata', s, [await ask(s, { name: FAKE_ZONE.cnameNodata.name, type: TYPE.AAAA }, { label: 'first' })]);
    put('ttl-rounding', s, [await ask(s, { name: FAKE_ZONE.plain.name }, { label: 'first' })]);
  }

  // Their later steps, each relative to that server's own first query, go out on time: the one-shot cases fill the
  // waits, and a step that falls due goes before the next of them.
  const at = (id, s) => results.get(id)[s.name][0].at;
  const waitUntil = async (t) => {
    const left = t - now();
    if (left > 0) await sleep(left);
  };
  const plan = [];
  for (const s of servers) {
    // 1.25 s tells rounding down (298) from rounding to the nearest (299); 1.5 s is the usual probe.
    plan.push({ t: at('ttl-rounding', s) + 1250, id: 'ttl-rounding', s, q: { name: FAKE_ZONE.plain.name } });
    plan.push({ t: at('ttl-rounding', s) + 1500, id: 'ttl-rounding', s, q: { name: FAKE_ZONE.plain.name } });
    const cq = { name: FAKE_ZONE.cnameNodata.name, type: TYPE.AAAA };
    plan.push({ t: at('cname-nodata', s) + 2000, id: 'cname-nodata', s, q: cq });
    plan.push({ t: at('cname-nodata', s) + 6500, id: 'cname-nodata', s, q: cq });
  }
  plan.sort((a, b) => a.t - b.t);
  const runDue = async (horizonMs) => {
    while (plan.length && plan[0].t <= now() + horizonMs) {
      const step = plan.shift();
      await waitUntil(step.t);
      const first = results.get(step.id)[step.s.name][0];
      const p = await ask(step.s, step.q);
      p.label = `+${((p.at - first.at) / 1000).toFixed(2)} s`;
      results.get(step.id)[step.s.name].push(p);
    }
  };
  for (const c of ONE_SHOT) {
    for (const s of servers) {
      await runDue(ONE_SHOT_SLOT_MS);
      put(c.id, s, [await ask(s, c.query)]);
    }
  }
  await runDue(Number.POSITIVE_INFINITY);

  // Serve-stale last: the entry cached for DO=0 has expired (TTL 2 s), the upstream stops answering, DO=1 asks.
  for (const s of servers) await waitUntil(at('stale-do', s) + (FAKE_ZONE.stale.ttl + 1) * 1000);
  fakes.main.blackhole = true;
  try {
    for (const s of servers) {
      const p = await ask(s, { name: FAKE_ZONE.stale.name, edns: { do: true } }, { timeoutMs: STALE_TIMEOUT_MS });
      const age = ((p.at - at('stale-do', s)) / 1000).toFixed(1);
      p.label = `DO=1 at +${age} s, upstream blackholed, answered in ${(p.ms / 1000).toFixed(2)} s`;
      results.get('stale-do')[s.name].push(p);
    }
  } finally {
    fakes.main.blackhole = false;
  }
  return results;
}

/** The timed cases and serve-stale: their definitions, with checks over all of a server's steps. */
const TIMED = [
  {
    id: 'cname-nodata',
    title: 'CNAME to a name with no AAAA (NODATA; SOA TTL 600, MINIMUM 5), asked at 0, +2 s, +6.5 s',
    expects:
      'CNAME + SOA. The negative TTL is min(SOA TTL, MINIMUM) = 5 s (RFC 2308 §5), which the authority should have sent as the SOA TTL (§3); a cache that takes the SOA TTL as sent keeps 600 s. The CNAME may keep its 300 s',
    ttls: true,
    check: () => null,
  },
  {
    id: 'ttl-rounding',
    title: 'TTL 300 asked again 1.25 s and 1.5 s later',
    expects:
      'The TTL counts down while cached (RFC 1034 §3.6, RFC 1035 §3.2.1); rounded down it is never above what is left: ≤ 298 at both. A whole-second clock (BIND) shows 298 or 299, by where the second boundaries fall',
    ttls: true,
    check: (steps) => {
      // The server cached the answer before this script received it, so at most `left` seconds are left.
      const cached = steps[0].at + steps[0].ms;
      return steps.slice(1).every((p) => {
        const ttl = ttlOf(p, TYPE.A);
        return ttl !== null && ttl <= Math.floor(FAKE_ZONE.ttl - (p.at - cached) / 1000);
      });
    },
  },
  {
    id: 'stale-do',
    title: 'DO=1 for a name cached only for DO=0, TTL expired, upstream blackholed',
    expects:
      'Serve stale: the A with TTL 30 (RFC 8767 §4, recommended), EDE 3 Stale Answer (RFC 8914 §4.4), OPT with DO; the DO=0 entry may serve (RFC 3225 §3: no RRSIGs to add)',
    check: (steps) => {
      const p = steps[1];
      return p?.response?.rcode === 0 && has(p.response, TYPE.A) && ttlOf(p, TYPE.A) <= 30;
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------

function gitVersion() {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  if (!isBuilt()) throw new Error('dist/ is missing: run `npm run build` first');
  if (!fs.existsSync(opts.named)) throw new Error(`${opts.named} not found (apt-get install bind9)`);
  const bindVersion = execFileSync(opts.named, ['-v'], { encoding: 'utf8' }).trim();
  ensureOutDir();
  const watchdog = setTimeout(async () => {
    process.stderr.write(`conformance: over the time limit of ${opts.timeLimit} s, stopping\n`);
    await stopAll();
    process.exit(1);
  }, opts.timeLimit * 1000);
  watchdog.unref();

  const fakes = {};
  let ballast = null;
  let bind = null;
  try {
    fakes.main = await startFake('main');
    fakes.old = await startFake('old');
    [ballast, bind] = await Promise.all([
      startBallast(fakes.main.port, fakes.old.port),
      startBind(fakes.main.port, fakes.old.port),
    ]);
    const probesFrom = upstreamLog.length;
    const results = await runProbes([ballast, bind], fakes);

    const cases = [...ONE_SHOT, ...TIMED].map((def) => {
      const steps = results.get(def.id);
      const okOf = (list) => (ONE_SHOT.includes(def) ? def.check(list[0]) : def.check(list));
      const side = (list) => ({ steps: list, ok: okOf(list) ?? null });
      return {
        id: def.id,
        title: def.title,
        expects: def.expects,
        ballast: side(steps.ballast),
        bind: side(steps.BIND),
        differences: differences(steps.ballast, steps.BIND, { ttls: !!def.ttls }),
      };
    });
    const seconds = (performance.now() - t0) / 1000;
    const command =
      'npm run build && ./node_modules/.bin/node bench/conformance.js' +
      (process.argv.length > 2 ? ` ${displayCommand(process.argv.slice(2))}` : '');
    const setup = [
      `Setup: one fake upstream on 127.0.0.1 serves \`conf.test\` (SOA TTL ${FAKE_SOA.ttl}, MINIMUM ${FAKE_SOA.minimum}; records TTL ${FAKE_ZONE.ttl}) and`,
      `everything else, and answers any CH-class query with TXT "${FAKE_IDENTITY}"; a second one serves \`old.test\` and`,
      'answers FORMERR without an OPT to any query with EDNS. ballast: `--upstream` the first, `zones: [{name: old.test}]`',
      'the second, defaults otherwise. BIND: `recursion yes`, `dnssec-validation no`, `stale-answer-enable yes`,',
      '`stale-answer-client-timeout 1800`, forward-only zones `.`, `conf.test`, `old.test` to the same fakes, a root hint',
      'of 127.0.0.1 only. Probes over UDP from 127.0.0.1, each to ballast and then to BIND; a query with EDNS advertises',
      '1232 octets.',
      '',
      `Before the first probe the fakes had received (readiness checks, ballast's start-up checks): ${upstreamText(upstreamLog.slice(0, probesFrom)).replace(/^up \d+: /, '')}.`,
    ].join('\n');
    const report = renderReport({
      command,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      bindVersion,
      ballastVersion: `${gitVersion()} (dist/ as built)`,
      nodeVersion: process.version,
      seconds,
      setup,
      cases,
    });
    const mdFile = reportPath(opts, path.join(RESULTS_DIR, 'conformance.md'));
    const jsonFile = opts.json ?? path.join(OUT_DIR, 'conformance.json');
    const json = {
      generatedBy: 'bench/conformance.js',
      command,
      date: new Date().toISOString(),
      bindVersion,
      ballastVersion: gitVersion(),
      seconds,
      servers: { ballast: { port: ballast.port, config: ballast.config }, bind: { port: bind.port, conf: bind.conf } },
      fakes: { main: fakes.main.port, old: fakes.old.port },
      cases,
      // Every query the fakes received, the servers' start-up included; the probes' from index `probesFrom` on.
      probesFrom,
      upstreamLog,
    };
    const jsonText = JSON.stringify(json, (k, v) => (k === 'questionEnd' ? undefined : v), 2);
    fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
    fs.writeFileSync(jsonFile, `${jsonText}\n`);
    const written = writeReport(mdFile, report);

    const s = summaryOf(cases);
    for (const c of cases) {
      const tag = c.differences.length ? 'differs' : 'same   ';
      const m = (ok) => (ok === true ? '✓' : ok === false ? '✗' : ' ');
      console.log(
        `${tag} ${m(c.ballast.ok)}${m(c.bind.ok)} ${c.id}${c.differences.length ? `: ${c.differences.join(', ')}` : ''}`,
      );
    }
    console.log(
      `\n${s.differ} of ${cases.length} cases differ; clear-cut expectations met: ballast ${s.ballastOk}/${s.checked}, BIND ${s.bindOk}/${s.checked}`,
    );
    console.log(`${written}, ${path.relative(process.cwd(), jsonFile)} (${seconds.toFixed(1)} s)`);
    return 0;
  } finally {
    if (ballast) {
      await stopProcess(ballast.child, 10_000);
      fs.writeFileSync(BALLAST_LOG, ballast.log());
    }
    if (bind) {
      await stopProcess(bind.child, 5000);
      fs.rmSync(bind.dir, { recursive: true, force: true });
    }
    for (const f of Object.values(fakes)) await f.close();
    clearTimeout(watchdog);
  }
}

runMain('conformance', main);
