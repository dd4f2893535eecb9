// `npm run drill`: see ballast ride out a control-plane outage in about two minutes, on one machine.
// A fake CoreDNS (dns2) serves a cluster.local zone of 3,000 services with TTL 5 s; ballast runs in front of it
// with chaos enabled; `ballast drill` loads it, blackholes the cluster zone's upstream for a minute, and reports.
//
//   npm run drill [-- --report PATH]      (default report: bench/out/drill-report.html, git-ignored)
//
// Everything runs on 127.0.0.1; only processes started here are stopped, by PID.

import fs from 'node:fs';
import path from 'node:path';
import dns2 from 'dns2';
import {
  ballastCommand,
  displayCommand,
  freePort,
  HOST,
  helpText,
  httpGet,
  NODE,
  OUT_DIR,
  parseOptions,
  ROOT,
  runMain,
  sleep,
  startDnsServer,
  startProcess,
  stopProcess,
  tempDir,
  unlimitedClientYaml,
} from './lib/index.js';

const { Packet } = dns2;
const SERVICES = 3000;
const PHASES = { warm: 20, faultFor: 60, recover: 20 };

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

async function waitReady(adminPort, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitInfo) throw new Error(`ballast exited (${JSON.stringify(child.exitInfo)})`);
    const ok = await httpGet(adminPort, '/ready').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(50);
  }
  throw new Error('ballast did not become ready within 10 s');
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), { report: { type: 'path', figures: false } });
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  const report = opts.report ?? path.join(OUT_DIR, 'drill-report.html');
  const coredns = await fakeCoreDns();
  const port = await freePort();
  const adminPort = await freePort();
  const zone = `${HOST}:${coredns.port}`;
  const config = [
    `zones: [{ name: cluster.local, servers: ['${zone}'], protocol: tcp }]`,
    'chaos: { enabled: true }',
    // The drill is one client asking for 3,000 names with a 5 s TTL: far more upstream-bound queries per second
    // than any pod should send.
    unlimitedClientYaml(),
  ].join('\n');
  const names = path.join(tempDir(), 'names.txt');
  fs.writeFileSync(names, `${Array.from({ length: SERVICES }, (_, i) => `${service(i)} A`).join('\n')}\n`);
  const argv = ballastCommand({ port, upstreamPort: coredns.port, adminPort, config });
  const ballast = startProcess('ballast', argv, { stdout: 'inherit', stderr: 'inherit' });
  try {
    await waitReady(adminPort, ballast);
    process.stderr.write(
      `ballast on ${HOST}:${port} in front of a fake CoreDNS with ${SERVICES} services (TTL 5 s); ` +
        `blackholing cluster.local for ${PHASES.faultFor} s\n`,
    );
    fs.mkdirSync(path.dirname(report), { recursive: true });
    const drillArgv = [NODE, path.join(ROOT, 'bin/ballast.js'), 'drill', '--target', `${HOST}:${port}`];
    drillArgv.push('--admin', `${HOST}:${adminPort}`, '--fault', 'blackhole', '--fault-zone', 'cluster.local');
    drillArgv.push(
      '--warm',
      `${PHASES.warm}s`,
      '--fault-for',
      `${PHASES.faultFor}s`,
      '--recover',
      `${PHASES.recover}s`,
    );
    drillArgv.push('--rate', '300', '--names', names, '--slo-answered', '99.9', '--report', report);
    process.stderr.write(`${displayCommand(drillArgv)}\n`);
    const drill = startProcess('ballast drill', drillArgv, { stdout: 'inherit', stderr: 'inherit' });
    // The drill ends by itself after its phases; this only bounds a hung one.
    const total = PHASES.warm + PHASES.faultFor + PHASES.recover;
    const killer = setTimeout(() => stopProcess(drill, 2000), (total + 60) * 1000);
    const { code } = await drill.exited;
    clearTimeout(killer);
    process.stdout.write(`report written to ${path.relative(process.cwd(), report) || report}\n`);
    return code ?? 2;
  } finally {
    await stopProcess(ballast);
    await coredns.close();
  }
}

runMain('drill', main);
