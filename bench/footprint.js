// Footprint: ballast's memory (RSS) and CPU at stated loads and cache sizes, next to a baseline measured in the same
// run (bench/responder.js, the minimal Node.js UDP responder, at the same loads). The DaemonSet's resources in
// deploy/base/daemonset.yaml are derived from this report (bench/results/footprint.md); test/deploy checks that they
// match it.
//
//   node bench/footprint.js [--names 50000] [--full-names 100000] [--rates 2000,10000] [--duration 30]
//                           [--skip-build] [--out bench/results/footprint.md]
//
// Steps (ballast pinned to CPU 0; dnsperf and bench/upstream.js pinned to CPU 1; all traffic on 127.0.0.1):
//   1. build (npm run build) unless --skip-build;
//   2. start ballast with the cache bounds of deploy/base/configmap.yaml (the defaults: 100,000 entries, 64 MiB) and
//      snapshots on, in front of bench/upstream.js; sample it idle;
//   3. fill the cache with NAMES names (one dnsperf pass), then drive each RATE with cache hits for DURATION seconds;
//   4. fill up to FULL_NAMES (= cache.maxEntries, a full cache) and drive the highest rate again;
//   5. drive the lowest rate with misses only (new names: an upstream fetch per query and an LRU eviction per
//      answer), the most expensive steady load there is;
//   6. start the baseline and drive it at every RATE.
// During each phase, /proc/PID/status (VmRSS, VmHWM) is sampled every 250 ms, and /proc/PID/stat (utime + stime,
// every thread) is read at the start and the end. Every dnsperf run is bounded by -l and -n, and killed if it
// overruns. Only processes started here are stopped, by PID, also on error and on Ctrl-C.

import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  dnsperfVersion,
  freePort,
  HOST,
  pinned,
  readJsonLine,
  sleep,
  startProcess,
  stopAll,
  stopProcess,
} from './lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const OUT_DIR = path.join(BENCH_DIR, 'out');
const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node'))
  ? path.join(ROOT, 'node_modules/.bin/node')
  : process.execPath;
const SERVER_CPU = '0';
const LOADGEN_CPU = '1';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const MIB = 1024 * 1024;
/** The cache bounds of deploy/base/configmap.yaml; test/deploy checks that the ConfigMap still uses these. */
const CACHE = { maxEntries: 100_000, maxBytes: 64 * MIB };
/** Production interval is 60 s; 30 s puts one snapshot write into every 30 s phase, so peaks include one. */
const SNAPSHOT_INTERVAL = 30;

function parseArgs(argv) {
  const opts = {
    names: 50_000,
    fullNames: CACHE.maxEntries,
    rates: [2000, 10_000],
    duration: 30,
    build: true,
    out: path.join(BENCH_DIR, 'results', 'footprint.md'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    const int = (v, min, max) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: want an integer ${min}–${max}`);
      return n;
    };
    if (flag === '--names') opts.names = int(value(), 1, 1_000_000);
    else if (flag === '--full-names') opts.fullNames = int(value(), 1, 1_000_000);
    else if (flag === '--rates')
      opts.rates = value()
        .split(',')
        .map((r) => int(r, 1, 100_000));
    else if (flag === '--duration') opts.duration = int(value(), 1, 600);
    else if (flag === '--skip-build') opts.build = false;
    else if (flag === '--out') opts.out = path.resolve(value());
    else if (flag === '-h' || flag === '--help') opts.help = true;
    else throw new UsageError(`unknown argument ${flag}`);
  }
  if (opts.fullNames < opts.names) throw new UsageError('--full-names must be at least --names');
  opts.rates.sort((a, b) => a - b);
  return opts;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: tracked, and stopped by PID only.
// ---------------------------------------------------------------------------------------------------------------

function httpGet(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** One A query; resolves true when any answer with the query's ID comes back in time. */
function answers(port, name, timeoutMs) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const msg = Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels]);
    const done = (v) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('message', (m) => m.length >= 2 && m.readUInt16BE(0) === id && done(true));
    sock.send(Buffer.concat([msg, Buffer.from([0, 0, 1, 0, 1])]), port, HOST);
  });
}

async function waitForDns(child, port) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`${child.benchName} exited early (${JSON.stringify(child.exitInfo)})`);
    if (await answers(port, 'name0.bench.test', 250)) return;
    await sleep(100);
  }
  throw new Error(`${child.benchName} did not answer on ${HOST}:${port}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring: /proc for the process, /metrics for ballast's own view of its cache.
// ---------------------------------------------------------------------------------------------------------------

function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
}

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime, all threads
}

async function gauges(adminPort) {
  const { body } = await httpGet(adminPort, '/metrics');
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? Number.NaN);
  return {
    entries: value('ballast_cache_entries'),
    cacheBytes: value('ballast_cache_bytes'),
    heapUsed: value('ballast_nodejs_heap_size_used_bytes'),
    snapshotWrites: value('ballast_snapshot_writes_total\\{result="success"\\}') || 0,
  };
}

/** Runs `load` while sampling `pid`; returns CPU (cores), RSS mean and max, and the dnsperf summary. */
async function measure(pid, load) {
  const samples = [];
  const sample = () => samples.push(memory(pid).rss);
  sample();
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const timer = setInterval(sample, 250);
  let perf;
  try {
    perf = await load();
  } finally {
    clearInterval(timer);
  }
  const wall = (performance.now() - t0) / 1000;
  const cores = (cpuSeconds(pid) - cpu0) / wall;
  sample();
  return {
    cores,
    rssMean: samples.reduce((a, b) => a + b, 0) / samples.length,
    rssMax: Math.max(...samples),
    hwm: memory(pid).hwm,
    perf,
  };
}

/** dnsperf at a fixed rate: -Q RATE for at most DURATION s and at most RUNS passes over the file. */
async function dnsperf(tag, port, file, { rate, duration, runs }) {
  const args = ['-s', HOST, '-p', String(port), '-d', file, '-l', String(duration), '-n', String(runs)];
  args.push('-Q', String(rate), '-q', '200', '-t', '2');
  const argv = pinned(LOADGEN_CPU, ['dnsperf', ...args]);
  const outFile = path.join(OUT_DIR, `footprint.${tag}.dnsperf.txt`);
  const fd = fs.openSync(outFile, 'w');
  const child = startProcess(`dnsperf ${tag}`, argv, {
    stdout: fd,
    stderrFile: path.join(OUT_DIR, `footprint.${tag}.stderr`),
  });
  fs.closeSync(fd);
  const killer = setTimeout(() => stopProcess(child), (duration + 20) * 1000);
  const info = await child.exited;
  clearTimeout(killer);
  if (info.error || info.code !== 0) throw new Error(`dnsperf ${tag} failed: ${JSON.stringify(info)}`);
  const text = fs.readFileSync(outFile, 'utf8');
  const num = (re) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    command: argv.slice(3).join(' ').replaceAll(ROOT, '.'),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
  };
}

function queryFile(name, from, to) {
  const file = path.join(OUT_DIR, `footprint.${name}.txt`);
  const lines = [];
  for (let i = from; i < to; i++) lines.push(`name${i}.bench.test A`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

async function run(opts) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-footprint-'));
  const log = (m) => process.stderr.write(`[footprint] ${m}\n`);
  const rows = [];
  const { duration, rates } = opts;
  const low = rates[0];
  const high = rates[rates.length - 1];

  const upChild = startProcess('upstream', pinned(LOADGEN_CPU, [NODE, path.join(BENCH_DIR, 'upstream.js')]), {
    stderrFile: path.join(OUT_DIR, 'footprint.upstream.stderr'),
  });
  const upstream = await readJsonLine(upChild);
  const port = await freePort();
  const adminPort = await freePort();
  // The per-client limit would turn the fill (tens of thousands of misses from one address) into REFUSED; in a
  // cluster each pod is its own client. Everything else is as in deploy/base/configmap.yaml.
  const configFile = path.join(tmp, 'config.yaml');
  fs.writeFileSync(
    configFile,
    [
      'clientLimit:',
      '  queriesPerSecond: 0',
      'cache:',
      `  maxEntries: ${CACHE.maxEntries}`,
      `  maxBytes: ${CACHE.maxBytes}`,
      '',
    ].join('\n'),
  );
  const ballastArgv = [
    NODE,
    path.join(ROOT, 'bin/ballast.js'),
    'serve',
    '--config',
    configFile,
    '--listen',
    `${HOST}:${port}`,
    '--upstream',
    `${HOST}:${upstream.port}`,
    '--admin',
    `${HOST}:${adminPort}`,
    '--snapshot',
    path.join(tmp, 'cache.snapshot'),
    '--snapshot-interval',
    String(SNAPSHOT_INTERVAL),
    '--log-level',
    'warn',
  ];
  log(`starting ballast: ${ballastArgv.join(' ')}`);
  const ballast = startProcess('ballast', pinned(SERVER_CPU, ballastArgv), {
    stderrFile: path.join(OUT_DIR, 'footprint.ballast.stderr'),
  });
  ballast.stdout.resume();
  await waitForDns(ballast, port);
  const pid = ballast.pid; // taskset execs the program, so this is ballast's own PID
  const alive = () => {
    if (ballast.exitInfo) throw new Error(`ballast exited (${JSON.stringify(ballast.exitInfo)})`);
  };
  const record = async (phase, load, m) => {
    alive();
    const g = await gauges(adminPort);
    rows.push({ system: 'ballast', phase, load, ...m, ...g });
    log(`${phase}: ${fmtMi(m.rssMax)} MiB RSS max, ${fmtMilli(m.cores)} CPU, ${g.entries} entries`);
  };

  await sleep(2000);
  await record('idle, empty cache', '0', await measure(pid, () => sleep(5000)));

  const names = queryFile('names', 0, opts.names);
  log(`filling the cache with ${opts.names} names`);
  await dnsperf('fill', port, names, { rate: 20_000, duration: 120, runs: 1 });
  await record(`idle, ${fmtInt(opts.names)} entries`, '0', await measure(pid, () => sleep(5000)));
  for (const rate of rates) {
    const runs = Math.ceil((rate * duration) / opts.names) + 1;
    const m = await measure(pid, () => dnsperf(`hits-${rate}`, port, names, { rate, duration, runs }));
    await record(`cache hits, ${fmtInt(opts.names)} names`, `${fmtInt(rate)}/s`, m);
  }

  const all = queryFile('full', 0, opts.fullNames);
  if (opts.fullNames > opts.names) {
    log(`filling the cache up to ${opts.fullNames} names`);
    const more = queryFile('more', opts.names, opts.fullNames);
    await dnsperf('fill-more', port, more, { rate: 20_000, duration: 120, runs: 1 });
  }
  {
    const runs = Math.ceil((high * duration) / opts.fullNames) + 1;
    const m = await measure(pid, () => dnsperf(`hits-full-${high}`, port, all, { rate: high, duration, runs }));
    await record(`cache hits, ${fmtInt(opts.fullNames)} names (full cache)`, `${fmtInt(high)}/s`, m);
  }
  {
    const fresh = queryFile('misses', opts.fullNames, opts.fullNames + low * duration);
    const m = await measure(pid, () => dnsperf(`misses-${low}`, port, fresh, { rate: low, duration, runs: 1 }));
    await record('misses only (upstream fetch + eviction each)', `${fmtInt(low)}/s`, m);
  }
  const upstreamCount = JSON.parse((await httpGet(upstream.httpPort, '/count')).body).queries;
  await stopProcess(ballast);

  const respPort = await freePort();
  const responder = startProcess(
    'baseline',
    pinned(SERVER_CPU, [NODE, path.join(BENCH_DIR, 'responder.js'), String(respPort)]),
    { stderrFile: path.join(OUT_DIR, 'footprint.baseline.stderr') },
  );
  await readJsonLine(responder);
  await waitForDns(responder, respPort);
  await sleep(2000);
  const basePid = responder.pid;
  const baseRow = (phase, load, m) => {
    rows.push({ system: 'baseline', phase, load, ...m });
    log(`baseline ${phase} ${load}: ${fmtMi(m.rssMax)} MiB RSS max, ${fmtMilli(m.cores)} CPU`);
  };
  baseRow('idle', '0', await measure(basePid, () => sleep(5000)));
  for (const rate of rates) {
    const runs = Math.ceil((rate * duration) / opts.names) + 1;
    baseRow(
      'canned answer',
      `${fmtInt(rate)}/s`,
      await measure(basePid, () => dnsperf(`baseline-${rate}`, respPort, names, { rate, duration, runs })),
    );
  }
  await stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
  return { rows, upstreamCount, ballastCommand: ballastArgv.join(' ').replaceAll(ROOT, '.') };
}

// ---------------------------------------------------------------------------------------------------------------
// Derived resources and the report
// ---------------------------------------------------------------------------------------------------------------

const fmtInt = (v) => Math.round(v).toLocaleString('en-US');
const fmtMi = (bytes) => (bytes / MIB).toFixed(1);
const fmtMilli = (cores) => `${Math.round(cores * 1000)}m`;
const ceilTo = (v, step) => Math.ceil(v / step) * step;

/**
 * Requests and limits from the measurements (the reasoning is printed in the report):
 * - cpu request: cache hits at the lowest rate (a busy node's steady load), rounded up to 10m. A request is a share
 *   under contention, not a cap; the higher rates are bursts that the request need not cover.
 * - cpu limit: none. CFS throttling of a DNS server turns a burst into client timeouts (CoreDNS's own manifest
 *   sets no CPU limit either).
 * - memory request: the largest RSS sampled at NAMES entries under the lowest rate, rounded up to 16 MiB.
 * - memory limit: the peak RSS (VmHWM, which includes a snapshot write and the misses phase's churn) plus the
 *   marginal RSS per cache byte, measured between NAMES and FULL_NAMES entries at the same rate, times the cache
 *   bytes still unused up to cache.maxBytes; times 1.25, and at least 1.5 × the peak; rounded up to 32 MiB. Real
 *   answers are larger than the bench's, so a cache can fill by bytes before it fills by entries. An OOM kill is
 *   the one thing a node cache must not suffer (kubernetes/dns#438).
 */
function derive(rows, opts) {
  const ballast = rows.filter((r) => r.system === 'ballast');
  const high = `${fmtInt(opts.rates[opts.rates.length - 1])}/s`;
  const atLow = ballast.find((r) => r.phase.startsWith('cache hits') && r.load === `${fmtInt(opts.rates[0])}/s`);
  const half = ballast.find((r) => r.phase.startsWith('cache hits') && r.load === high);
  const full = ballast.find((r) => r.phase.includes('(full cache)'));
  const peak = Math.max(...ballast.map((r) => r.hwm));
  const grown = full.cacheBytes - half.cacheBytes;
  const perCacheByte = grown > 0 ? Math.max(0, (full.rssMean - half.rssMean) / grown) : 0;
  const atMaxBytes = peak + perCacheByte * Math.max(0, CACHE.maxBytes - full.cacheBytes);
  const cpuRequest = ceilTo(atLow.cores * 1000, 10);
  const memRequest = ceilTo(atLow.rssMax / MIB, 16);
  const memLimit = ceilTo(Math.max(atMaxBytes * 1.25, peak * 1.5) / MIB, 32);
  return { atLow, half, full, peak, perCacheByte, atMaxBytes, cpuRequest, memRequest, memLimit };
}

function mdTable(columns, rows) {
  const len = (s) => [...s].length;
  const widths = columns.map(([h], i) => Math.max(3, len(h), ...rows.map((r) => len(String(r[i])))));
  const cell = (s, i) => {
    const pad = ' '.repeat(widths[i] - len(s));
    return columns[i][1] === 'right' ? pad + s : s + pad;
  };
  const line = (cells) => `| ${cells.map((c, i) => cell(String(c), i)).join(' | ')} |`;
  const rule = `| ${columns.map(([, a], i) => (a === 'right' ? `${'-'.repeat(widths[i] - 1)}:` : '-'.repeat(widths[i]))).join(' | ')} |`;
  return [line(columns.map(([h]) => h)), rule, ...rows.map(line)].join('\n');
}

function report(result, opts, ctx) {
  const { rows, upstreamCount } = result;
  const d = derive(rows, opts);
  const L = [];
  L.push('# Footprint: memory and CPU', '');
  L.push('Generated by `bench/footprint.js`; do not edit by hand, re-run instead. The DaemonSet in');
  L.push(
    '`deploy/base/daemonset.yaml` takes its resources from the last table, and `test/deploy` checks that they match.',
  );
  L.push('');
  L.push(`- Date: ${ctx.date.toISOString()}`);
  L.push(`- Command: \`${ctx.command}\``);
  L.push(
    `- Machine: ${ctx.nproc} CPUs, ${ctx.model}, ${ctx.kernel}; Node.js ${ctx.nodeVersion}; dnsperf ${ctx.dnsperf}`,
  );
  L.push(`- Machine load just before the run: ${ctx.busy}% of all CPUs busy (2 s sample)`);
  L.push(`- ballast: \`${result.ballastCommand}\` (pinned to CPU ${SERVER_CPU})`);
  L.push(
    `- Config: \`cache.maxEntries: ${CACHE.maxEntries}\`, \`cache.maxBytes: ${CACHE.maxBytes}\` (as in ` +
      `deploy/base/configmap.yaml), \`clientLimit.queriesPerSecond: 0\` (all load comes from one address here), ` +
      `snapshots every ${SNAPSHOT_INTERVAL} s (production: 60 s), so each ${opts.duration} s phase includes a ` +
      'snapshot write and the CPU figures overstate the snapshot share about twofold.',
  );
  L.push(
    '- Load: dnsperf over UDP on 127.0.0.1, pinned to CPU 1 with bench/upstream.js; names `nameN.bench.test A` ' +
      '(answers of 46 bytes plus question, TTL 3600, so every repeat is a fresh cache hit). Fixed rates with ' +
      `\`-Q\`, ${opts.duration} s per phase.`,
  );
  L.push(
    '- Sampling: VmRSS from `/proc/PID/status` every 250 ms (mean and max); VmHWM (peak RSS since start); CPU from ' +
      '`/proc/PID/stat` utime + stime over the phase, all threads, in millicores (1000m = one core busy).',
  );
  L.push(
    `- Baseline: \`bench/responder.js\` (one canned answer, no cache), started after ballast stopped, same CPU, ` +
      'same rates.',
  );
  L.push('');
  const columns = [
    ['system', 'left'],
    ['phase', 'left'],
    ['load (queries/s)', 'right'],
    ['achieved / lost', 'right'],
    ['cache entries', 'right'],
    ['cache bytes (MiB)', 'right'],
    ['RSS mean (MiB)', 'right'],
    ['RSS max (MiB)', 'right'],
    ['peak RSS so far (MiB)', 'right'],
    ['JS heap used (MiB)', 'right'],
    ['CPU', 'right'],
  ];
  L.push(
    mdTable(
      columns,
      rows.map((r) => [
        r.system === 'ballast' ? 'ballast' : 'baseline (bench/responder.js)',
        r.phase,
        r.load,
        r.perf ? `${fmtInt(r.perf.qps)} / ${fmtInt(r.perf.lost)}` : '—',
        r.entries === undefined ? '—' : fmtInt(r.entries),
        r.cacheBytes === undefined ? '—' : fmtMi(r.cacheBytes),
        fmtMi(r.rssMean),
        fmtMi(r.rssMax),
        fmtMi(r.hwm),
        r.heapUsed === undefined ? '—' : fmtMi(r.heapUsed),
        fmtMilli(r.cores),
      ]),
    ),
  );
  L.push('');
  L.push(
    `Upstream (bench/upstream.js) answered ${fmtInt(upstreamCount)} queries in all: the two fills and the ` +
      'misses phase; the cache-hit phases sent none upstream.',
  );
  L.push('');
  L.push('## Derived requests and limits', '');
  L.push(
    `- **CPU request** = ${fmtMilli(d.atLow.cores)} (cache hits at ${d.atLow.load}, ${fmtInt(opts.names)} entries: a busy ` +
      `node's steady load), rounded up to 10m = **${d.cpuRequest}m**. A request is the node's share under ` +
      'contention, not a cap: busier nodes and bursts use more. Scale it with your nodes’ query rate (ballast_requests_total).',
  );
  L.push(
    '- **CPU limit: none.** CFS throttling of a DNS server turns a burst into client timeouts and retries, the ' +
      'load multiplication ballast exists to prevent. CoreDNS’s own manifest sets no CPU limit either. The ' +
      `misses-only phase shows the most expensive steady load (${fmtMilli(rows.find((r) => r.phase.startsWith('misses')).cores)} ` +
      `at ${fmtInt(opts.rates[0])}/s).`,
  );
  L.push(
    `- **Memory request** = the largest RSS sampled with ${fmtInt(opts.names)} entries at ${d.atLow.load}, ` +
      `${fmtMi(d.atLow.rssMax)} MiB, rounded up to 16 MiB = **${d.memRequest}Mi**. The limit below carries the headroom.`,
  );
  L.push(
    `- **Memory limit**: the peak RSS of the run was ${fmtMi(d.peak)} MiB (VmHWM: it includes snapshot writes of ` +
      `up to ${fmtInt(d.full.entries)} entries and the misses phase's evictions). Between ${fmtInt(d.half.entries)} ` +
      `and ${fmtInt(d.full.entries)} entries at ${d.half.load}, mean RSS grew by ${d.perCacheByte.toFixed(2)} bytes ` +
      `per byte of cache (by ballast's count, \`ballast_cache_bytes\`: ${fmtMi(d.half.cacheBytes)} → ` +
      `${fmtMi(d.full.cacheBytes)} MiB). Real answers are larger than these 46-byte ones, so a cache can fill by ` +
      `bytes (\`cache.maxBytes\`, ${fmtMi(CACHE.maxBytes)} MiB) before it fills by entries: the peak plus that ` +
      `growth for the remaining ${fmtMi(CACHE.maxBytes - d.full.cacheBytes)} MiB is ${fmtMi(d.atMaxBytes)} MiB. ` +
      `Limit = max(that × 1.25, peak × 1.5), rounded up to 32 MiB = **${d.memLimit}Mi**. An OOM kill is the one ` +
      'thing a node cache must not suffer (kubernetes/dns#438); raise the limit together with `cache.maxBytes`.',
  );
  L.push('');
  L.push(
    mdTable(
      [
        ['resource', 'left'],
        ['value', 'left'],
      ],
      [
        ['`requests.cpu`', `\`${d.cpuRequest}m\``],
        ['`requests.memory`', `\`${d.memRequest}Mi\``],
        ['`limits.cpu`', '— (none)'],
        ['`limits.memory`', `\`${d.memLimit}Mi\``],
      ],
    ),
  );
  L.push('');
  L.push('Commands (dnsperf, after `-s 127.0.0.1 -p PORT`):', '');
  for (const r of rows.filter((x) => x.perf)) L.push(`- ${r.system} ${r.phase} ${r.load}: \`${r.perf.command}\``);
  L.push('');
  return { text: L.join('\n'), derived: d };
}

/** Share of all CPUs busy over `ms` (from /proc/stat): other work on the machine skews CPU and latency figures. */
async function machineBusy(ms) {
  const read = () => {
    const v = /^cpu\s+(.*)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))[1].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return Math.round((100 * (b.busy - a.busy)) / (b.total - a.total));
}

function invokedAs(argv) {
  return `node bench/footprint.js${argv.length ? ` ${argv.join(' ')}` : ''}`;
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  if (opts.help) {
    const head = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0];
    process.stdout.write(`${head.replace(/^\/\/ ?/gm, '')}\n`);
    return;
  }
  const dnsperf = dnsperfVersion();
  if (!dnsperf) throw new UsageError('dnsperf not found; install it with: apt-get install -y dnsperf');
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) throw new UsageError('taskset is not usable');
  if (opts.build) {
    process.stderr.write('[footprint] npm run build\n');
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const ctx = {
    date: new Date(),
    command: invokedAs(argv),
    dnsperf,
    nproc: os.availableParallelism(),
    model: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    nodeVersion: spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(),
  };
  ctx.busy = await machineBusy(2000);
  let result;
  try {
    result = await run(opts);
  } finally {
    await stopAll();
  }
  const { text, derived } = report(result, opts, ctx);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, text);
  process.stdout.write(
    `requests: cpu ${derived.cpuRequest}m, memory ${derived.memRequest}Mi; limits: memory ${derived.memLimit}Mi\n` +
      `report written to ${path.relative(process.cwd(), opts.out)}\n`,
  );
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    await stopAll();
    process.exit(130);
  });
}

main().catch(async (err) => {
  process.stderr.write(`footprint: ${err instanceof UsageError ? err.message : (err.stack ?? err)}\n`);
  await stopAll();
  process.exitCode = 1;
});
