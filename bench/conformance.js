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
import fs from 'node:fs';
import path from 'node:path';
import { isBuilt } from './lib/ballast.js';
import { runProbes } from './lib/conformance/ask.js';
import {
  differences,
  FAKE_IDENTITY,
  FAKE_SOA,
  FAKE_ZONE,
  renderReport,
  summaryOf,
  upstreamText,
} from './lib/conformance/index.js';
import { ONE_SHOT, TIMED } from './lib/conformance/probes.js';
import { startBallast, startBind, stopBallast, stopBind } from './lib/conformance/servers.js';
import { startFake } from './lib/conformance/upstream.js';
import { displayCommand, ensureOutDir, OUT_DIR, RESULTS_DIR, ROOT } from './lib/env.js';
import { parseOptionsOrExit, reportPath } from './lib/options.js';
import { runMain, stopAll } from './lib/processes.js';
import { writeReport } from './lib/report.js';

const opts = parseOptionsOrExit(import.meta.url, {
  out: { type: 'path', figures: false },
  json: { type: 'path', figures: false },
  named: { type: 'path', default: '/usr/sbin/named' },
  timeLimit: { type: 'int', default: 110, min: 30, max: 600, figures: false },
});

// This file holds the options and the run; its parts are in bench/lib/conformance/: upstream.js (the fakes' sockets)
// and fake.js (their script), servers.js (ballast and BIND), probes.js (the cases), ask.js (sending them on time),
// compare.js and report.js (the report), build.js and parse.js (DNS messages byte by byte).

const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);

/** Every query either fake received, in order: { at, role, transport, name, type, cls, edns, do, dropped }. */
const upstreamLog = [];

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
    fakes.main = await startFake('main', { log: upstreamLog, now });
    fakes.old = await startFake('old', { log: upstreamLog, now });
    [ballast, bind] = await Promise.all([
      startBallast(fakes.main.port, fakes.old.port),
      startBind(fakes.main.port, fakes.old.port, opts.named),
    ]);
    const probesFrom = upstreamLog.length;
    const results = await runProbes([ballast, bind], fakes, { log: upstreamLog, now });

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
    if (ballast) await stopBallast(ballast);
    if (bind) await stopBind(bind);
    for (const f of Object.values(fakes)) await f.close();
    clearTimeout(watchdog);
  }
}

runMain('conformance', main);
