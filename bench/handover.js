// Zero-downtime handover (docs/operations.md): instance A serves under continuous UDP and TCP load; instance B starts on
// the same addresses (SO_REUSEPORT, DNS and admin ports alike); A gets SIGTERM and exits. Clients behave like a tuned
// glibc resolver: 1 s timeout, 2 attempts. Reports lookups that failed (both attempts) and first attempts lost.
//
//   npm run build && node bench/handover.js [--seconds 8] [--rate 200] [--out PATH]
//
// With the default options the report replaces bench/results/handover.md; any other run writes
// bench/out/handover.md unless --out says otherwise. Short check: --seconds 4 --rate 100.
//
// Also used by test/e2e/handover.test.ts (runHandover). All traffic is on 127.0.0.1; only processes started here are
// stopped, by PID.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dns2 from 'dns2';
import {
  ballastCommand,
  freePort,
  HOST,
  helpText,
  parseOptions,
  RESULTS_DIR,
  reportPath,
  runMain,
  sleep,
  spawnBallast,
  startDnsServer,
  stopProcess,
  tcpExchange,
  udpExchange,
  writeReport,
} from './lib/index.js';

const { Packet } = dns2;
const NAMES = 200;

async function startFixedUpstream() {
  const handle = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.ra = 1;
    const [q] = request.questions;
    // Only A queries get an A record: ballast rejects an answer section that does not answer the question.
    if (q.type === 1) response.answers.push({ name: q.name, type: 1, class: 1, ttl: 300, address: '192.0.2.1' });
    send(response);
  };
  return startDnsServer(handle);
}

/** At log level info, which prints the start-up line that tells A and B apart on the same addresses. */
function startBallast(name, port, adminPort, upstreamPort) {
  return spawnBallast(ballastCommand({ port, upstreamPort, adminPort, logLevel: 'info' }), name);
}

function query(id, i) {
  const q = new Packet();
  q.header.id = id;
  q.header.rd = 1;
  q.questions.push({ name: `name${i}.handover.test`, type: 1, class: 1 });
  return q.toBuffer();
}

/** True for a NOERROR answer; false for no answer (null), a short one, or any other RCODE. */
const noError = (m) => m !== null && m.length >= 4 && (m.readUInt16BE(2) & 0xf) === 0;

/** One UDP attempt from a fresh socket (a stub resolver's source port), resolving true on an answer in time. */
function udpAttempt(port, msg, timeoutMs) {
  return udpExchange(port, msg, timeoutMs, HOST).then(noError, () => false);
}

/** One TCP attempt on a new connection, resolving true on an answer in time. */
function tcpAttempt(port, msg, timeoutMs) {
  return tcpExchange(port, [msg], 1, HOST, timeoutMs).then(
    ([m]) => noError(m),
    () => false,
  );
}

/** Runs the handover once; resolves with counts per transport. */
export async function runHandover({ seconds = 8, rate = 200, timeoutMs = 1000, attempts = 2 } = {}) {
  const upstream = await startFixedUpstream();
  const port = await freePort();
  const adminPort = await freePort();
  const a = startBallast('A', port, adminPort, upstream.port);
  let b;
  const stats = { udp: { lookups: 0, failed: 0, firstLost: 0 }, tcp: { lookups: 0, failed: 0, firstLost: 0 } };
  const pending = [];
  try {
    await a.started();
    let id = 0;
    const lookup = async (transport) => {
      const i = id % NAMES;
      const attempt = transport === 'udp' ? udpAttempt : tcpAttempt;
      const st = stats[transport];
      st.lookups++;
      for (let k = 0; k < attempts; k++) {
        if (await attempt(port, query(id++ & 0xffff, i), timeoutMs)) return;
        if (k === 0) st.firstLost++;
      }
      st.failed++;
    };
    const end = Date.now() + seconds * 1000;
    const timeline = [];
    const started = Date.now();
    // B starts at 20 % of the run; A gets SIGTERM at 40 %, but never before B has bound the addresses (a rollout
    // with maxSurge: 1 terminates the old pod only once the new one is ready).
    const scheduled = (async () => {
      await sleep(seconds * 1000 * 0.2);
      b = startBallast('B', port, adminPort, upstream.port);
      await b.started();
      timeline.push(['B started on the same addresses', Date.now()]);
      await sleep(Math.max(0, started + seconds * 1000 * 0.4 - Date.now()));
      timeline.push(['SIGTERM to A', Date.now()]);
      a.child.kill('SIGTERM');
      const code = await a.exited;
      timeline.push([`A exited with ${code}`, Date.now()]);
    })();
    let n = 0;
    while (Date.now() < end) {
      // `rate` lookups per second in 10 ms ticks, one in five over TCP.
      for (let k = 0; k < rate / 100; k++) pending.push(lookup(n++ % 5 === 0 ? 'tcp' : 'udp'));
      await sleep(10);
    }
    await Promise.all(pending);
    await scheduled;
    return {
      stats,
      aExit: await a.exited,
      timeline: timeline.map(([what, t]) => [what, t - started]),
      seconds,
      rate,
      timeoutMs,
      attempts,
    };
  } finally {
    await stopProcess(a.child, 0); // A runs on here only when the run failed: no drain
    if (b) await stopProcess(b.child);
    await upstream.close();
  }
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), {
    seconds: { type: 'int', min: 2, max: 600, default: 8 },
    rate: { type: 'int', min: 1, max: 5000, default: 200 },
    out: { type: 'path', figures: false },
  });
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  const r = await runHandover({ seconds: opts.seconds, rate: opts.rate });
  const row = (t) =>
    `| ${t} | ${r.stats[t].lookups} | ${r.stats[t].failed} | ${r.stats[t].firstLost} | ${((100 * r.stats[t].firstLost) / r.stats[t].lookups).toFixed(2)} |`;
  const text = `# Handover benchmark

Generated by \`node bench/handover.js --seconds ${r.seconds} --rate ${r.rate}\` (after \`npm run build\`) on
${new Date().toISOString().slice(0, 10)}, Node ${process.version}.

Instance A serves ${r.rate} lookups/s (one in five over TCP, each on a new connection; UDP from a new socket each);
instance B starts on the same DNS and admin addresses; A gets SIGTERM, keeps serving for \`server.drainPeriodMs\`,
drains and exits. Clients: ${r.timeoutMs} ms timeout, ${r.attempts} attempts, like a tuned glibc resolver.

| transport | lookups | failed (every attempt lost) | first attempts lost | first attempts lost % |
|---|---|---|---|---|
${row('udp')}
${row('tcp')}

Timeline (ms after the load started): ${r.timeline.map(([w, t]) => `${w} at ${t}`).join('; ')}. A's exit status: ${r.aExit}.
`;
  const written = writeReport(reportPath(opts, path.join(RESULTS_DIR, 'handover.md')), text);
  process.stdout.write(`${text}\nreport written to ${written}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runMain('handover', main);
