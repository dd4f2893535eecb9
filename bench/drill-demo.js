// `npm run drill`: see ballast ride out a control-plane outage in about two minutes, on one machine.
// A fake CoreDNS (dns2) serves a cluster.local zone of 3,000 services with TTL 5 s; ballast runs in front of it
// with chaos enabled; `ballast drill` loads it, blackholes the cluster zone's upstream for a minute, and reports.
//
//   npm run drill [-- --report bench/results/drill-report.html]
//
// Everything runs on 127.0.0.1; only processes started here are stopped, by PID.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dns2 from 'dns2';
import { freePort, HOST, startDnsServer } from './lib.js';

const { Packet } = dns2;
const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node'))
  ? path.join(ROOT, 'node_modules/.bin/node')
  : process.execPath;
const SERVICES = 3000;
const report = process.argv.includes('--report')
  ? process.argv[process.argv.indexOf('--report') + 1]
  : path.join(BENCH, 'results', 'drill-report.html');

const service = (i) => `svc-${i}.ns-${i % 30}.svc.cluster.local`;

/** A fake CoreDNS: cluster.local services (A, TTL 5 s, like CoreDNS's kubernetes plugin), NXDOMAIN otherwise. */
async function fakeCoreDns() {
  const byName = new Map(
    Array.from({ length: SERVICES }, (_, i) => [service(i), `10.96.${(i >> 8) & 255}.${i & 255}`]),
  );
  const handle = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 1;
    const [q] = request.questions;
    const address = byName.get(q.name.toLowerCase());
    if (address !== undefined && q.type === Packet.TYPE.A) {
      response.answers.push({ name: q.name, type: 1, class: 1, ttl: 5, address });
    } else {
      if (address === undefined) response.header.rcode = 3;
      response.authorities.push({
        name: 'cluster.local',
        type: Packet.TYPE.SOA,
        class: 1,
        ttl: 5,
        primary: 'ns.dns.cluster.local',
        admin: 'hostmaster.cluster.local',
        serial: 1,
        refresh: 7200,
        retry: 1800,
        expiration: 86400,
        minimum: 5,
      });
    }
    send(response);
  };
  return startDnsServer(handle);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-drill-'));
const coredns = await fakeCoreDns();
const port = await freePort();
const adminPort = await freePort();
fs.writeFileSync(
  path.join(dir, 'config.yaml'),
  [
    `listen: ['${HOST}:${port}']`,
    `admin: { listen: '${HOST}:${adminPort}' }`,
    `upstream: { servers: ['${HOST}:${coredns.port}'] }`,
    `zones: [{ name: cluster.local, servers: ['${HOST}:${coredns.port}'], protocol: tcp }]`,
    'chaos: { enabled: true }',
    // The drill is one client asking for 3,000 names with a 5 s TTL: far more upstream-bound queries per second than
    // any pod should send, so the per-client limit (docs/resilience.md) is lifted for it.
    'clientLimit: { queriesPerSecond: 0 }',
    `persistence: { path: '${path.join(dir, 'cache.snapshot')}' }`,
    'log: { level: warn }',
    '',
  ].join('\n'),
);
fs.writeFileSync(
  path.join(dir, 'names.txt'),
  `${Array.from({ length: SERVICES }, (_, i) => `${service(i)} A`).join('\n')}\n`,
);

const ballast = spawn(NODE, [path.join(ROOT, 'bin/ballast.js'), 'serve', '--config', path.join(dir, 'config.yaml')], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
let code = 2;
try {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://${HOST}:${adminPort}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(
    `ballast on ${HOST}:${port} in front of a fake CoreDNS with ${SERVICES} services (TTL 5 s); blackholing cluster.local for 60 s\n`,
  );
  fs.mkdirSync(path.dirname(report), { recursive: true });
  const drill = spawn(
    NODE,
    [
      path.join(ROOT, 'bin/ballast.js'),
      'drill',
      '--target',
      `${HOST}:${port}`,
      '--admin',
      `${HOST}:${adminPort}`,
      '--fault',
      'blackhole',
      '--fault-zone',
      'cluster.local',
      '--warm',
      '20s',
      '--fault-for',
      '60s',
      '--recover',
      '20s',
      '--rate',
      '300',
      '--names',
      path.join(dir, 'names.txt'),
      '--slo-answered',
      '99.9',
      '--report',
      report,
    ],
    { stdio: 'inherit' },
  );
  code = await new Promise((resolve) => drill.on('exit', (c) => resolve(c ?? 2)));
} finally {
  ballast.kill('SIGTERM');
  await new Promise((r) => ballast.once('exit', r));
  await coredns.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
