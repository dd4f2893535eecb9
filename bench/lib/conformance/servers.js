// The servers under test of bench/conformance.js, in front of the fake upstreams: ballast from dist/ and BIND 9's
// named as a forwarding resolver (its config written to a temporary folder), each started, waited for until it
// answers through its upstream, and stopped by PID.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { udpExchange } from '../../../test/helpers/exchange.ts';
import { ballastCommand, spawnBallast } from '../ballast.js';
import { HOST, OUT_DIR, sleep } from '../env.js';
import { freePort } from '../net.js';
import { startProcess, stopProcess } from '../processes.js';
import { buildQuery } from './build.js';
import { TYPE } from './codes.js';
import { FAKE_ZONE } from './fake.js';
import { parseMessage } from './parse.js';

export const BALLAST_LOG = path.join(OUT_DIR, 'conformance-ballast.log');
export const NAMED_LOG = path.join(OUT_DIR, 'conformance-named.log');

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

/** Starts ballast from dist/: `--upstream` the main fake, a zone old.test to the old one; its log goes to BALLAST_LOG. */
export async function startBallast(mainPort, oldPort) {
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

/** named.conf: recursion on, validation off, serve-stale on, forward-only zones to the fakes, all on loopback. */
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

/** Starts BIND 9's `named` (the binary at `named`) forwarding to the fakes; its log goes to NAMED_LOG. */
export async function startBind(mainPort, oldPort, named) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-conformance-named-'));
  // Removed at the end of main(), and here too when the time limit or Ctrl-C ends the run first.
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const conf = namedConf(dir, port, mainPort, oldPort);
  fs.writeFileSync(path.join(dir, 'named.conf'), conf);
  // The only root server named knows of is 127.0.0.1: even a priming query stays on loopback.
  fs.writeFileSync(path.join(dir, 'root.hint'), '. 3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.1\n');
  const argv = [named, '-4', '-g', '-n', '1', '-c', path.join(dir, 'named.conf')];
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

/** Stops ballast by PID and writes its log to BALLAST_LOG. */
export async function stopBallast(ballast) {
  await stopProcess(ballast.child, 10_000);
  fs.writeFileSync(BALLAST_LOG, ballast.log());
}

/** Stops named by PID and removes its temporary folder. */
export async function stopBind(bind) {
  await stopProcess(bind.child, 5000);
  fs.rmSync(bind.dir, { recursive: true, force: true });
}
