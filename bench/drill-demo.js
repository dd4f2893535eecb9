// `npm run drill`: see ballast ride out a control-plane outage in about two minutes, on one machine.
// A fake CoreDNS (dns2) serves a cluster.local zone of 3,000 services with TTL 5 s; ballast runs in front of it
// with chaos enabled; `ballast drill` loads it, blackholes the cluster zone's upstream for a minute, and reports.
//
//   npm run drill [-- --report PATH]      (default report: bench/out/drill-report.html, git-ignored; the run's JSON
//       next to it, drill-report.json)
//   npm run drill -- --publish
//       the same run, then README.md's drill table (between <!-- drill:begin --> and <!-- drill:end -->), the
//       picture of its report (docs/images/drill-report.png, by headless Chromium: apt-get install chromium) and
//       bench/results/drill.md (the command, the date, the table), all from that one run
//   npm run drill -- --scale 0.1 [--publish --readme PATH --image PATH --summary PATH]
//       every phase and the number of services scaled (0.1: 2 s warm, 6 s fault, 2 s recover, 300 services): a check
//       that it works, not a result; --publish then needs the three paths, so it never replaces the published ones
//   npm run drill -- --matrix [--out PATH]
//       every fault kind in turn (blackhole, servfail, refused, drop, delay, lame, slow, loss, overload, nxdomain,
//       nodata, mixed), each against a fresh ballast: 12 s warm, 15 s fault, 8 s recover at 300 queries/s; one table
//       of the fault phases (answered %, NXDOMAIN/NODATA %, SERVFAIL %, stale %, p99, upstream q/s), written to
//       bench/results/drill-matrix.md
//
// Everything runs on 127.0.0.1; only processes started here are stopped, by PID.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dns2 from 'dns2';
import { drillText, publish, publishTargets } from './lib/drill-publish.js';
import {
  ballastCommand,
  displayCommand,
  freePort,
  HOST,
  helpText,
  httpGet,
  mdTable,
  NODE,
  OUT_DIR,
  parseOptions,
  ROOT,
  reportPath,
  runMain,
  sleep,
  startDnsServer,
  startProcess,
  stopProcess,
  tempDir,
} from './lib/index.js';

const { Packet } = dns2;
const SERVICES = 3000;
const PHASES = { warm: 20, faultFor: 60, recover: 20 };
const RATE = 300;

const service = (i) => `svc-${i}.ns-${i % 30}.svc.cluster.local`;

/** A fake CoreDNS: cluster.local services (A, TTL 5 s, like CoreDNS's kubernetes plugin), NXDOMAIN otherwise. */
async function fakeCoreDns(services) {
  const byName = new Map(
    Array.from({ length: services }, (_, i) => [service(i), `10.96.${(i >> 8) & 255}.${i & 255}`]),
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

/** The fault of each matrix row, as `ballast drill` flags, with what it models. */
const MATRIX = [
  ['blackhole', [], 'CoreDNS unreachable'],
  ['servfail', [], 'CoreDNS without its API server'],
  ['refused', [], 'CoreDNS refusing everything'],
  ['drop', ['--percent', '50'], 'half the exchanges swallowed'],
  ['delay', ['--delay-ms', '500'], 'every answer 0.5 s late'],
  ['lame', ['--percent', '30'], '30 % of names never answered'],
  ['slow', ['--delay-ms', '300', '--spread-ms', '900'], 'answers 0.3–1.2 s late'],
  ['loss', ['--percent', '20'], '20 % of datagrams lost each way'],
  ['overload', ['--concurrency', '20'], 'REFUSED above 20 in flight'],
  ['nxdomain', [], 'NXDOMAIN for every name (an empty informer)'],
  ['nodata', [], 'NODATA for every name (emptied Endpoints)'],
  ['mixed', ['--percent', '33'], 'NXDOMAIN from one replica in three'],
];

/** ballast in front of a fresh fake CoreDNS of `services` names, ready, with the names file; stop() ends both. */
async function startStack(services = SERVICES) {
  const coredns = await fakeCoreDns(services);
  const port = await freePort();
  const adminPort = await freePort();
  const zone = `${HOST}:${coredns.port}`;
  // Every chaos endpoint needs the bearer token, also on loopback (docs/security.md).
  const token = path.join(tempDir(), 'chaos-token');
  fs.writeFileSync(token, `${crypto.randomUUID()}\n`, { mode: 0o600 });
  const config = [
    `zones: [{ name: cluster.local, servers: ['${zone}'], protocol: tcp }]`,
    `chaos: { enabled: true, tokenFile: '${token}' }`,
  ];
  const names = path.join(tempDir(), 'names.txt');
  fs.writeFileSync(names, `${Array.from({ length: services }, (_, i) => `${service(i)} A`).join('\n')}\n`);
  const argv = ballastCommand({ port, upstreamPort: coredns.port, adminPort, config: config.join('\n') });
  const ballast = startProcess('ballast', argv, { stdout: 'inherit', stderr: 'inherit' });
  try {
    await waitReady(adminPort, ballast);
  } catch (err) {
    await stopProcess(ballast);
    await coredns.close();
    throw err;
  }
  return {
    port,
    adminPort,
    names,
    token,
    stop: async () => {
      await stopProcess(ballast);
      await coredns.close();
    },
  };
}

/** Runs `ballast drill` with `args` against the stack; resolves with its exit code, stdout and command line. */
async function drill(stack, args, phases, { inherit }) {
  const argv = [NODE, path.join(ROOT, 'bin/ballast.js'), 'drill', '--target', `${HOST}:${stack.port}`];
  argv.push(
    '--admin',
    `${HOST}:${stack.adminPort}`,
    '--token-file',
    stack.token,
    '--fault-zone',
    'cluster.local',
    ...args,
  );
  argv.push('--warm', `${phases.warm}s`, '--fault-for', `${phases.faultFor}s`, '--recover', `${phases.recover}s`);
  argv.push('--rate', String(RATE), '--names', stack.names);
  process.stderr.write(`${displayCommand(argv)}\n`);
  const child = startProcess('ballast drill', argv, { stdout: inherit ? 'inherit' : 'pipe', stderr: 'inherit' });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  // The drill ends by itself after its phases; this only bounds a hung one.
  const total = phases.warm + phases.faultFor + phases.recover;
  const killer = setTimeout(() => stopProcess(child, 2000), (total + 60) * 1000);
  const { code } = await child.exited;
  clearTimeout(killer);
  return { code, out, argv };
}

async function demo(opts) {
  const report = opts.report ?? path.join(OUT_DIR, 'drill-report.html');
  // Checked before the run: the README's markers, chromium, and that a scaled run names its own paths.
  const targets = publishTargets(opts);
  const phases = Object.fromEntries(
    Object.entries(PHASES).map(([k, v]) => [k, Math.max(1, Math.round(v * opts.scale))]),
  );
  // Scaled with the phases, so that the warm phase still asks every name before the fault.
  const services = Math.round(SERVICES * opts.scale);
  const stack = await startStack(services);
  try {
    process.stderr.write(
      `ballast on ${HOST}:${stack.port} in front of a fake CoreDNS with ${services} services (TTL 5 s); ` +
        `blackholing cluster.local for ${phases.faultFor} s\n`,
    );
    fs.mkdirSync(path.dirname(report), { recursive: true });
    const args = ['--fault', 'blackhole', '--slo-answered', '99.9', '--report', report, '--json'];
    const { code, out, argv } = await drill(stack, args, phases, { inherit: false });
    if (code === 2 || out.trim() === '') return 2;
    const result = JSON.parse(out);
    const date = new Date().toISOString();
    const flags = [...(opts.publish ? ['--publish'] : []), ...(opts.scale !== 1 ? ['--scale', opts.scale] : [])];
    const command = `npm run drill${flags.length ? ` -- ${flags.join(' ')}` : ''}`;
    const settings =
      `${RATE} queries/s over ${services.toLocaleString('en-US')} names, ${phases.warm} s warm, ` +
      `${phases.faultFor} s with the cluster zone's upstream blackholed, ${phases.recover} s to recover`;
    // The run as data, next to its report: what the README's table is made from.
    const json = /\.html?$/.test(report) ? report.replace(/\.html?$/, '.json') : `${report}.json`;
    fs.writeFileSync(json, `${JSON.stringify({ date, settings, drill: displayCommand(argv), ...result })}\n`);
    process.stdout.write(
      `\n${drillText(result)}\n\nreport written to ${path.relative(process.cwd(), report) || report}\n`,
    );
    if (targets !== undefined) {
      const written = await publish(targets, { result, report, date, command, settings });
      process.stdout.write(`published: ${written.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
      if (code !== 0) process.stderr.write('drill: the published run missed its SLO; the README says so\n');
    }
    return code ?? 2;
  } finally {
    await stack.stop();
  }
}

async function matrix(opts) {
  // 12 s at 300/s asks each of the 3,000 names at least once, so every one is cached when the fault starts.
  const phases = { warm: 12, faultFor: 15, recover: 8 };
  const rows = [];
  for (const [kind, flags, what] of MATRIX) {
    const stack = await startStack();
    try {
      const { out } = await drill(stack, ['--fault', kind, ...flags, '--json'], phases, { inherit: false });
      const fault = JSON.parse(out).phases.find((p) => p.phase === 'fault');
      rows.push([
        `\`${kind}\``,
        what,
        fault.answeredPct.toFixed(2),
        fault.negativePct.toFixed(2),
        fault.servfailPct.toFixed(2),
        fault.stalePct.toFixed(1),
        Number.isFinite(fault.p99Ms) ? fault.p99Ms.toFixed(1) : '—',
        fault.upstreamPerSecond === undefined ? '—' : fault.upstreamPerSecond.toFixed(1),
      ]);
    } finally {
      await stack.stop();
    }
  }
  const right = (h) => [h, 'right'];
  const columns = [
    ['fault'],
    ['what it models'],
    ...['answered %', 'NXDOMAIN/NODATA %', 'SERVFAIL %', 'stale %', 'p99 ms', 'upstream q/s'].map(right),
  ];
  const table = mdTable(columns, rows);
  const file = reportPath(opts, path.join(ROOT, 'bench/results/drill-matrix.md'));
  const text = [
    '# Drill matrix: every fault kind, one at a time',
    '',
    'Generated by `npm run drill -- --matrix` (bench/drill-demo.js); do not edit by hand, re-run instead.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Each row: a fresh ballast in front of a fake CoreDNS serving ${SERVICES} cluster.local services (TTL 5 s, ` +
      'over TCP); `ballast drill` at 300 queries/s over all of them, 12 s warm (every name asked once), then the fault on the cluster zone ' +
      'for 15 s, then 8 s to recover. The figures are the fault phase: answered (any answer but SERVFAIL, ' +
      'within the 2 s client timeout), NXDOMAIN or NODATA (every name asked exists, so each of these is a wrong ' +
      'answer reaching a client), SERVFAIL, stale answers (last known good ones included), p99 latency, and ' +
      'queries ballast sent upstream per second (probes and retransmissions included; the fault swallows or answers ' +
      'them).',
    '',
    table,
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  process.stdout.write(`${table}\n\nwritten to ${path.relative(process.cwd(), file)}\n`);
  return 0;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), {
    report: { type: 'path', figures: false },
    publish: { type: 'flag', figures: false },
    scale: { type: 'number', default: 1, min: 0.05, max: 1 },
    readme: { type: 'path', figures: false },
    image: { type: 'path', figures: false },
    summary: { type: 'path', figures: false },
    matrix: { type: 'flag', figures: false },
    out: { type: 'path', figures: false },
  });
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  return opts.matrix ? matrix(opts) : demo(opts);
}

runMain('drill', main);
