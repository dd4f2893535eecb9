// Benchmark harness: ballast cache hits vs. a minimal Node.js UDP responder (bench/responder.js), both driven by
// dnsperf over loopback. Run with `npm run bench` (builds ballast first) or `node bench/run.js [options]`.
//
// Options:
//   --only baseline|ballast   measure just one system (comma list allowed); results go to bench/out/ instead of
//                             bench/RESULTS.md unless --out is given
//   --duration SECONDS        length of each throughput pass and of the latency pass (default 10)
//   --rounds N                throughput passes per system, interleaved across systems; the median is reported
//                             (default 3)
//   --names N                 distinct names in the query file, nameN.bench.test A (default 1000)
//   --outstanding N           dnsperf -q, max queries in flight (default 100)
//   --clients N               dnsperf -c, number of client sockets (default 1)
//   --max-qps N               dnsperf -Q cap for the throughput pass, a safety bound (default 200000)
//   --latency-qps N           fixed rate of the latency pass (default: 50% of the slowest system's queries/s)
//   --out PATH                where to write the markdown report
//
// Per system: start it pinned to CPU 0, wait until it answers, pre-warm (one pass over every name, then a short
// full-load pass so the JIT settles), then with dnsperf pinned to CPU 1:
//   1. throughput passes: dnsperf -l DURATION -q OUTSTANDING -Q MAX_QPS, ROUNDS times per system, interleaved
//                         (A B A B A B), since a small VM's speed drifts by tens of percent from minute to
//                         minute (more so while anything else runs on it); queries/s is the median pass by
//                         dnsperf's summary, and each pass records how CPU 0 was shared (server / irq / other).
// Once every system has had its throughput passes (they all stay up, idle when not measured):
//   2. latency pass:    dnsperf -v -l DURATION -Q LATENCY_QPS, one rate for every system (half the slowest one's
//                       max, so none is overloaded); p50/p99 from the per-query latencies that -v prints
//                       ("> NOERROR name A 0.000123"); lost queries count as infinitely slow. Latency measured at
//                       full load would only show the -q queue (Little's law), not the server.
// Raw dnsperf output and the servers' stderr are kept in bench/out/ (git-ignored).
// Only processes started here are stopped (by PID), also on error or Ctrl-C. All traffic goes to 127.0.0.1.

import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dnsperfVersion, freePort, pinned, readJsonLine, sleep, startProcess, stopAll, stopProcess } from './lib.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const OUT_DIR = path.join(BENCH_DIR, 'out');
const HOST = '127.0.0.1';
const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node'))
  ? path.join(ROOT, 'node_modules/.bin/node')
  : process.execPath;
const SERVER_CPU = '0'; // taskset CPU of the system under test
const LOADGEN_CPU = '1'; // taskset CPU of dnsperf (and of bench/upstream.js, idle while measuring)
const OTHER_CPU_WARN = 10; // warn when other processes take more than this % of the server CPU during a pass
const SERVER_CPU_WARN = 85; // ... or when the server process itself gets less than this % of it
const BUSY_BEFORE_WARN = 15; // warn when the machine is busier than this % (all CPUs) before starting
const LATENCY_LOAD = 0.5; // the latency pass runs at this fraction of the slowest system's max queries/s

// ---------------------------------------------------------------------------------------------------------------
// The systems under test. ballast's command line is here.
// ---------------------------------------------------------------------------------------------------------------

function baselineCommand({ port }) {
  return [NODE, path.join(BENCH_DIR, 'responder.js'), String(port)];
}

function ballastCommand({ port, upstreamPort, adminPort }) {
  return [
    NODE,
    path.join(ROOT, 'bin/ballast.js'),
    'serve',
    '--listen',
    `${HOST}:${port}`,
    '--upstream',
    `${HOST}:${upstreamPort}`,
    '--admin',
    `${HOST}:${adminPort}`,
    '--log-level',
    'warn',
    // A private snapshot file: never the default path, and never a previous run's cache.
    '--snapshot',
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-bench-')), 'cache.snapshot'),
  ];
}

const SYSTEMS = {
  baseline: { label: 'baseline (bench/responder.js)', needsUpstream: false, command: baselineCommand },
  ballast: { label: 'ballast (cache hits)', needsUpstream: true, command: ballastCommand },
};

// ---------------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    only: Object.keys(SYSTEMS),
    duration: 10,
    names: 1000,
    outstanding: 100,
    clients: 1,
    rounds: 3,
    maxQps: 200_000,
    latencyQps: null,
    out: null,
  };
  const num = (flag, v, min) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} needs a number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--only': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const s of list) if (!SYSTEMS[s]) throw new UsageError(`unknown system ${s} (baseline, ballast)`);
        opts.only = Object.keys(SYSTEMS).filter((s) => list.includes(s));
        break;
      }
      case '--duration':
        opts.duration = Math.round(num(flag, value(), 1));
        if (opts.duration > 600) throw new UsageError('--duration is capped at 600 seconds');
        break;
      case '--names':
        opts.names = Math.round(num(flag, value(), 1));
        if (opts.names > 1_000_000) throw new UsageError('--names is capped at 1000000');
        break;
      case '--outstanding':
        opts.outstanding = Math.round(num(flag, value(), 1));
        break;
      case '--rounds':
        opts.rounds = Math.round(num(flag, value(), 1));
        if (opts.rounds > 20) throw new UsageError('--rounds is capped at 20');
        break;
      case '--clients':
        opts.clients = Math.round(num(flag, value(), 1));
        if (opts.clients > 64) throw new UsageError('--clients is capped at 64');
        break;
      case '--max-qps':
        opts.maxQps = Math.round(num(flag, value(), 1));
        break;
      case '--latency-qps':
        opts.latencyQps = Math.round(num(flag, value(), 1));
        break;
      case '--out':
        opts.out = path.resolve(value());
        break;
      case '-h':
      case '--help':
        opts.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return opts;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: every one we start is tracked and stopped by PID.
// ---------------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------------
// Ports and a tiny DNS client (readiness and a correctness spot check; the load itself is all dnsperf).
// ---------------------------------------------------------------------------------------------------------------

// A port that is free for both UDP and TCP on 127.0.0.1 right now (bind port 0, then close).

function encodeQuery(id, name) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

function skipName(msg, off) {
  while (off < msg.length) {
    const n = msg[off];
    if (n === 0) return off + 1;
    if ((n & 0xc0) === 0xc0) return off + 2;
    off += 1 + n;
  }
  return -1;
}

// Sends one A query and resolves { rcode, addresses } or null on timeout.
function queryA(port, name, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65536);
    const done = (v) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      const rcode = msg.readUInt16BE(2) & 0xf;
      const ancount = msg.readUInt16BE(6);
      const addresses = [];
      let off = 12;
      for (let i = 0; i < msg.readUInt16BE(4) && off >= 0; i++) off = skipName(msg, off) + 4;
      for (let i = 0; i < ancount && off >= 0 && off < msg.length; i++) {
        off = skipName(msg, off);
        if (off < 0 || off + 10 > msg.length) break;
        const type = msg.readUInt16BE(off);
        const rdlen = msg.readUInt16BE(off + 8);
        if (type === 1 && rdlen === 4) addresses.push([...msg.subarray(off + 10, off + 14)].join('.'));
        off += 10 + rdlen;
      }
      done({ rcode, addresses });
    });
    sock.send(encodeQuery(id, name), port, HOST);
  });
}

async function waitForDns(child, port, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`${child.benchName} exited early (${JSON.stringify(child.exitInfo)})`);
    if (await queryA(port, 'name0.bench.test', 250)) return;
    await sleep(100);
  }
  throw new Error(`${child.benchName} did not answer DNS on ${HOST}:${port} within ${timeoutMs / 1000}s`);
}

function httpGetJson(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const upstreamCount = async (upstream) => (await httpGetJson(upstream.httpPort, '/count')).queries;

// Per-CPU jiffies from /proc/stat: { '0': { busy, irq, total }, ... } (irq = hard + soft interrupts).
function cpuTimes() {
  const out = {};
  if (!fs.existsSync('/proc/stat')) return out;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is already in user
    out[m[1]] = { busy: total - v[3] - v[4], irq: v[5] + v[6], total }; // busy = all but idle, iowait
  }
  return out;
}

// CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat; null if unknown.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // #14 utime, #15 stime
  } catch {
    return null;
  }
}

// Busy and interrupt percentages per CPU between two cpuTimes() samples: { '0': { busy, irq }, ... }.
function cpuBusy(a, b) {
  const out = {};
  for (const cpu of Object.keys(b)) {
    const dt = b[cpu].total - (a[cpu]?.total ?? 0);
    if (a[cpu] && dt > 0) {
      out[cpu] = {
        busy: Math.round((100 * (b[cpu].busy - a[cpu].busy)) / dt),
        irq: Math.round((100 * (b[cpu].irq - a[cpu].irq)) / dt),
      };
    }
  }
  return out;
}

// How busy the whole machine is over `ms` milliseconds, in percent of all CPUs.
async function machineBusy(ms) {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  let busy = 0;
  let total = 0;
  for (const cpu of Object.keys(b)) {
    if (!a[cpu]) continue;
    busy += b[cpu].busy - a[cpu].busy;
    total += b[cpu].total - a[cpu].total;
  }
  return total > 0 ? Math.round((100 * busy) / total) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// dnsperf
// ---------------------------------------------------------------------------------------------------------------

// Runs dnsperf pinned to the load-generator CPU. Returns its parsed summary; verbose output goes to `verboseFile`.
async function dnsperf(tag, port, queryFile, { duration, runs, outstanding, clients, qps, timeout = 2, verboseFile }) {
  const args = ['-s', HOST, '-p', String(port), '-d', queryFile, '-l', String(duration), '-q', String(outstanding)];
  if (clients > 1) args.push('-c', String(clients));
  if (runs) args.push('-n', String(runs));
  if (qps) args.push('-Q', String(qps));
  args.push('-t', String(timeout));
  if (verboseFile) args.push('-v');
  const argv = pinned(LOADGEN_CPU, ['dnsperf', ...args]);
  const outFile = verboseFile ?? path.join(OUT_DIR, `${tag}.dnsperf.txt`);
  const fd = fs.openSync(outFile, 'w');
  const child = startProcess(`dnsperf ${tag}`, argv, { stdout: fd, stderrFile: path.join(OUT_DIR, `${tag}.stderr`) });
  fs.closeSync(fd);
  // Hard bound on top of dnsperf's own -l: its time limit plus the query timeout plus slack.
  const killer = setTimeout(() => stopProcess(child), (duration + timeout + 15) * 1000);
  const info = await child.exited;
  clearTimeout(killer);
  if (info.error) throw new Error(`could not run dnsperf: ${info.error.message}`);
  if (info.code !== 0) {
    const err = fs.readFileSync(path.join(OUT_DIR, `${tag}.stderr`), 'utf8').trim();
    throw new Error(`dnsperf ${tag} failed (${JSON.stringify(info)}): ${err}`);
  }
  const summary = parseDnsperfSummary(fs.readFileSync(outFile, 'utf8'));
  summary.command = argv.join(' ');
  return summary;
}

function parseDnsperfSummary(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  const s = {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    runTime: num(/Run time \(s\):\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/),
    rcodes: /Response codes:\s+(.*)/.exec(text)?.[1]?.trim() ?? '',
  };
  if (s.qps === null || s.sent === null) throw new Error('could not parse dnsperf output');
  s.avgLatencyMs = s.avgLatencyMs === null ? null : s.avgLatencyMs * 1000;
  return s;
}

// Per-query latencies from `dnsperf -v` lines "> RCODE name type seconds"; timeouts ("> T ...") and interrupted
// queries ("> I ...") are counted separately.
async function parseVerboseLatencies(file) {
  const lat = [];
  let timeouts = 0;
  let interrupted = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.startsWith('> ')) continue;
    const parts = line.split(/\s+/);
    if (parts[1] === 'T') timeouts++;
    else if (parts[1] === 'I') interrupted++;
    else {
      const v = Number(parts[parts.length - 1]);
      if (Number.isFinite(v)) lat.push(v * 1000);
    }
  }
  return { lat: Float64Array.from(lat).sort(), timeouts, interrupted };
}

// Nearest-rank percentile; lost queries sort after every answered one.
function percentile(sorted, lost, p) {
  const n = sorted.length + lost;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return rank <= sorted.length ? sorted[rank - 1] : Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------------------------
// The phases, per system. Every system stays up (idle) until all are measured: throughput first, for all of them,
// so that the latency passes can all use one rate that none of them is overloaded at.
// ---------------------------------------------------------------------------------------------------------------

function ensureAlive(sut, phase) {
  if (sut.server.exitInfo) throw new Error(`${sut.key} exited ${phase} (${JSON.stringify(sut.server.exitInfo)})`);
}

// Starts one system (and its upstream), waits until it answers, and pre-warms it.
async function startAndWarm(key, opts, queryFile) {
  const system = SYSTEMS[key];
  const log = (msg) => process.stderr.write(`[${key}] ${msg}\n`);
  const port = await freePort();
  const cmdArgs = { port };
  let upstream = null;
  const result = { key, label: system.label };
  if (system.needsUpstream) {
    const upChild = startProcess('upstream', pinned(LOADGEN_CPU, [NODE, path.join(BENCH_DIR, 'upstream.js')]), {
      stderrFile: path.join(OUT_DIR, `${key}.upstream.stderr`),
    });
    upstream = { child: upChild, ...(await readJsonLine(upChild)) };
    cmdArgs.upstreamPort = upstream.port;
    cmdArgs.adminPort = await freePort();
  }
  const argv = pinned(SERVER_CPU, system.command(cmdArgs));
  result.command = argv.join(' ');
  log(`starting: ${result.command}`);
  const server = startProcess(key, argv, { stderrFile: path.join(OUT_DIR, `${key}.stderr`) });
  server.stdout.resume(); // discard
  const sut = { key, port, server, upstream, result, log };
  try {
    await waitForDns(server, port);
  } catch (err) {
    const tail = fs
      .readFileSync(path.join(OUT_DIR, `${key}.stderr`), 'utf8')
      .trim()
      .split('\n')
      .slice(-20);
    throw new Error(`${err.message}${tail.join('') ? `\n--- ${key} stderr ---\n${tail.join('\n')}` : ''}`);
  }

  // Pre-warm 1: every name once, so that the measured passes are all cache hits.
  log(`pre-warm: one pass over ${opts.names} names`);
  result.warm = await dnsperf(`${key}.warm-fill`, port, queryFile, {
    duration: 60,
    runs: 1,
    outstanding: opts.outstanding,
    clients: opts.clients,
    timeout: 5,
  });
  if (upstream) result.upstreamAfterFill = await upstreamCount(upstream);

  // Spot check that the answers are right (baseline answers every name with one canned record, so skip it).
  if (system.needsUpstream) {
    const n = Math.min(opts.names - 1, 257);
    const r = await queryA(port, `name${n}.bench.test`, 2000);
    const want = `10.0.${(n >> 8) & 255}.${n & 255}`;
    if (r?.rcode !== 0 || !r.addresses.includes(want)) {
      throw new Error(`name${n}.bench.test: wanted A ${want}, got ${JSON.stringify(r)}`);
    }
  }

  // Pre-warm 2: a short full-load pass so JIT and buffers settle; not reported.
  const jitSeconds = Math.min(3, opts.duration);
  log(`pre-warm: ${jitSeconds}s at full load`);
  await dnsperf(`${key}.warm-load`, port, queryFile, {
    duration: jitSeconds,
    runs: Math.ceil((opts.maxQps * jitSeconds) / opts.names) + 1,
    outstanding: opts.outstanding,
    clients: opts.clients,
    qps: opts.maxQps,
  });
  ensureAlive(sut, 'during warm-up');
  return sut;
}

// Maximum queries/s: dnsperf with a bounded number of queries in flight, for the run's duration.
async function throughputPass(sut, opts, queryFile, round) {
  const { key, port, result, log } = sut;
  log(`throughput round ${round}/${opts.rounds}: ${opts.duration}s, -q ${opts.outstanding}, -Q ${opts.maxQps}`);
  const cpuBefore = cpuTimes();
  const procBefore = processCpuSeconds(sut.server.pid);
  const wallBefore = performance.now();
  const run = await dnsperf(`${key}.throughput-${round}`, port, queryFile, {
    duration: opts.duration,
    runs: Math.ceil((opts.maxQps * opts.duration) / opts.names) + 1,
    outstanding: opts.outstanding,
    clients: opts.clients,
    qps: opts.maxQps,
  });
  const busy = cpuBusy(cpuBefore, cpuTimes());
  const procAfter = processCpuSeconds(sut.server.pid);
  const wall = (performance.now() - wallBefore) / 1000;
  // CPU 0's busy time split into the server process, interrupts (loopback packet work is mostly softirq) and the
  // rest; a large "other" share means another process took CPU 0 from the server and this pass's numbers are
  // suspect. The kernel may charge some softirq time to the process too, so "other" is a lower bound.
  const server = busy[SERVER_CPU];
  const proc = procBefore === null || procAfter === null ? null : Math.round((100 * (procAfter - procBefore)) / wall);
  run.cpu = {
    server: server?.busy ?? null,
    serverProcess: proc,
    serverIrq: server?.irq ?? null,
    serverOther: server && proc !== null ? Math.max(0, server.busy - server.irq - proc) : null,
    loadgen: busy[LOADGEN_CPU]?.busy ?? null,
  };
  log(`  ${run.qps.toFixed(0)} queries/s, lost ${run.lost}; ${fmtCpu(run.cpu)}`);
  ensureAlive(sut, 'during the throughput pass');
  result.throughputRuns ??= [];
  result.throughputRuns.push(run);
  // The reported pass is the median one by queries/s (its other numbers come from the same pass).
  const sorted = [...result.throughputRuns].sort((a, b) => a.qps - b.qps);
  result.throughput = sorted[Math.floor((sorted.length - 1) / 2)];
}

// Latency percentiles at a fixed rate, from dnsperf -v per-query latencies.
async function latencyPass(sut, opts, queryFile, qps) {
  const { key, port, result, log } = sut;
  log(`latency: ${opts.duration}s at ${qps} queries/s`);
  const verboseFile = path.join(OUT_DIR, `${key}.latency.dnsperf.txt`);
  result.latency = await dnsperf(`${key}.latency`, port, queryFile, {
    duration: opts.duration,
    runs: Math.ceil((qps * opts.duration) / opts.names) + 1,
    outstanding: opts.outstanding,
    clients: opts.clients,
    qps,
    verboseFile,
  });
  const { lat, timeouts, interrupted } = await parseVerboseLatencies(verboseFile);
  const lost = Math.max(timeouts + interrupted, result.latency.lost ?? 0);
  result.latency.samples = lat.length;
  result.latency.lostCounted = lost;
  result.latency.p50 = percentile(lat, lost, 50);
  result.latency.p99 = percentile(lat, lost, 99);
  result.latency.max = lat.length ? lat[lat.length - 1] : null;
  log(`  p50 ${fmtMs(result.latency.p50)} ms, p99 ${fmtMs(result.latency.p99)} ms, lost ${lost}`);
  ensureAlive(sut, 'during the latency pass');
  if (sut.upstream) result.upstreamTotal = await upstreamCount(sut.upstream);
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

function fmtMs(v) {
  if (v === null || v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return 'timeout';
  return v < 1 ? v.toFixed(3) : v.toFixed(2);
}

const pct = (v) => (v === null || v === undefined ? '?' : `${v}%`);

function fmtCpu(c) {
  return (
    `cpu${SERVER_CPU} ${pct(c.server)} busy (server ${pct(c.serverProcess)}, irq ${pct(c.serverIrq)}, ` +
    `other ${pct(c.serverOther)}), cpu${LOADGEN_CPU} ${pct(c.loadgen)} busy`
  );
}

const fmtInt = (v) => (v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));

function machineInfo() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
  const nodeVersion = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  return { model, nproc, nodeVersion, kernel: `${os.type()} ${os.release()}` };
}

const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

// queries/s relative to the baseline: the median over rounds of (system / baseline) of the same round, which
// cancels most of the machine's drift since the two passes of a round run back to back.
function ratioToBaseline(r, base) {
  if (!base) return null;
  const n = Math.min(r.throughputRuns.length, base.throughputRuns.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(r.throughputRuns[i].qps / base.throughputRuns[i].qps);
  return median(ratios);
}

// A markdown table with padded columns, laid out the way `biome format` lays it out, so that `npm run lint` passes
// on the generated RESULTS.md. `columns` is [[header, 'left' | 'right'], ...].
function mdTable(columns, rows) {
  const len = (str) => [...str].length;
  const widths = columns.map(([h], i) => Math.max(3, len(h), ...rows.map((r) => len(String(r[i])))));
  const cell = (str, i) => {
    const pad = ' '.repeat(widths[i] - len(str));
    return columns[i][1] === 'right' ? pad + str : str + pad;
  };
  const line = (cells) => `| ${cells.map((c, i) => cell(String(c), i)).join(' | ')} |`;
  const rule = `| ${columns.map(([, a], i) => (a === 'right' ? `${'-'.repeat(widths[i] - 1)}:` : '-'.repeat(widths[i]))).join(' | ')} |`;
  return [line(columns.map(([h]) => h)), rule, ...rows.map(line)].join('\n');
}

function renderTable(results) {
  const base = results.find((r) => r.key === 'baseline');
  const columns = [
    ['system', 'left'],
    ['queries/s', 'right'],
    ['p50 ms', 'right'],
    ['p99 ms', 'right'],
    ['ratio to baseline (queries/s)', 'right'],
  ];
  const rows = results.map((r) => [
    r.label,
    fmtInt(r.throughput.qps),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    base ? `${ratioToBaseline(r, base).toFixed(2)}×` : 'n/a',
  ]);
  return mdTable(columns, rows);
}

// Things that make this run's numbers less trustworthy, for the report and the console.
function warnings(results, ctx) {
  const out = [];
  const crowded = results.flatMap((r) =>
    r.throughputRuns
      .map((t, i) => ({ r, i, cpu: t.cpu }))
      .filter(
        (x) =>
          x.cpu.serverOther > OTHER_CPU_WARN || (x.cpu.serverProcess !== null && x.cpu.serverProcess < SERVER_CPU_WARN),
      ),
  );
  if (crowded.length) {
    out.push(
      `Warning: the server did not have CPU ${SERVER_CPU} to itself during ` +
        crowded
          .map(
            (x) => `${x.r.key} round ${x.i + 1} (server ${pct(x.cpu.serverProcess)}, other ${pct(x.cpu.serverOther)})`,
          )
          .join(', ') +
        '; something else was running, re-run on a quiet machine.',
    );
  }
  if (ctx.busyBefore !== null && ctx.busyBefore > BUSY_BEFORE_WARN) {
    out.push(`Warning: the machine was ${ctx.busyBefore}% busy just before the run.`);
  }
  for (const r of results) {
    if (r.latency.qps < ctx.latencyQps * 0.95) {
      out.push(
        `Note: ${r.key} could not keep up with the latency pass's ${fmtInt(ctx.latencyQps)} queries/s ` +
          `(${fmtInt(r.latency.qps)} achieved), so its p50/p99 are latencies under overload.`,
      );
    }
    const lost = r.throughputRuns.reduce((a, t) => a + t.lost, 0);
    if (lost > 0) out.push(`Note: ${r.key} lost ${fmtInt(lost)} queries over its throughput passes.`);
  }
  return out;
}

function renderReport(results, opts, ctx, info) {
  const lines = [];
  lines.push('# ballast benchmark results', '');
  lines.push('Generated by `bench/run.js`; do not edit by hand, re-run instead.', '');
  lines.push(`- Date: ${ctx.date.toISOString()}`);
  lines.push(`- Command: \`${ctx.command}\``);
  lines.push(`- Machine: ${info.nproc} CPUs (\`nproc\`), ${info.model}, ${info.kernel}`);
  lines.push(`- Node.js: ${info.nodeVersion}`);
  lines.push(`- dnsperf: ${ctx.dnsperfVersion}`);
  lines.push(`- Machine load just before the run: ${pct(ctx.busyBefore)} of all CPUs busy (1 s sample)`);
  lines.push(
    `- Setup: servers pinned to CPU ${SERVER_CPU}, dnsperf pinned to CPU ${LOADGEN_CPU} (\`taskset\`), UDP over 127.0.0.1; ` +
      `${opts.names} names \`nameN.bench.test A\`, each queried once before measuring (pre-warm) plus ` +
      `${Math.min(3, opts.duration)}s of unreported full load.`,
  );
  lines.push(
    `- Queries/s: dnsperf \`-l ${opts.duration} -q ${opts.outstanding}${opts.clients > 1 ? ` -c ${opts.clients}` : ''} ` +
      `-Q ${opts.maxQps}\` (the -Q cap is only a safety bound), ${opts.rounds} passes per system interleaved ` +
      'across systems; the table shows the median pass, and the ratio is the median of the per-round ratios. ' +
      'Every system stays up for the whole run, idle while another one is measured.',
  );
  lines.push(
    `- Latency: a second dnsperf pass at a fixed ${fmtInt(ctx.latencyQps)} queries/s (${ctx.latencyQpsSource}) ` +
      `for ${opts.duration}s, the same rate for every system; p50/p99 over dnsperf \`-v\` per-query latencies, lost ` +
      'queries counted as slowest ("timeout").',
  );
  lines.push('');
  lines.push(renderTable(results), '');

  const ballast = results.find((r) => r.key === 'ballast');
  if (ballast) {
    lines.push(
      `Upstream (bench/upstream.js) queries: ${fmtInt(ballast.upstreamTotal)} in total, ` +
        `${fmtInt(ballast.upstreamAfterFill)} after the pre-warm pass over ${opts.names} distinct names ` +
        `(${fmtInt(ballast.upstreamTotal - ballast.upstreamAfterFill)} during the measured passes, which sent ` +
        `${fmtInt(ballast.throughputRuns.reduce((a, t) => a + t.sent, 0) + ballast.latency.sent)} queries).`,
      '',
    );
  }

  lines.push('## Details', '');
  const detailColumns = [
    ['system', 'left'],
    ['median throughput pass: sent / completed / lost', 'left'],
    ['response codes', 'left'],
    ['avg latency at full load ms', 'right'],
    ['CPU during that pass', 'left'],
    ['latency pass: queries/s achieved', 'right'],
    ['latency pass: samples / lost', 'left'],
    ['latency pass: max ms', 'right'],
    ['queries/s of every throughput pass', 'left'],
  ];
  const detailRows = results.map((r) => {
    const t = r.throughput;
    const l = r.latency;
    return [
      r.label,
      `${fmtInt(t.sent)} / ${fmtInt(t.completed)} / ${fmtInt(t.lost)}`,
      t.rcodes.replaceAll('|', '\\|'),
      fmtMs(t.avgLatencyMs),
      fmtCpu(t.cpu),
      fmtInt(l.qps),
      `${fmtInt(l.samples)} / ${fmtInt(l.lostCounted)}`,
      fmtMs(l.max),
      r.throughputRuns.map((x) => fmtInt(x.qps)).join(', '),
    ];
  });
  lines.push(mdTable(detailColumns, detailRows));
  for (const w of warnings(results, ctx)) lines.push('', w);
  lines.push('');
  lines.push('Commands:', '');
  for (const r of results) {
    lines.push(`- ${r.key} server: \`${r.command}\``);
    lines.push(`- ${r.key} throughput: \`${r.throughput.command}\``);
    lines.push(`- ${r.key} latency: \`${r.latency.command}\``);
  }
  if (results.some((r) => r.key === 'baseline')) {
    lines.push(
      '',
      'The baseline answers every query with one canned `name0.bench.test A` response, copying only the query ID ' +
        '(dnsperf matches replies by ID), so it measures Node.js UDP I/O with no DNS work at all.',
    );
  }
  lines.push(
    '',
    '## Other benchmarks',
    '',
    'Each writes its own report under `bench/results/`, with the command that reproduces it:',
    '',
    '- [results/outage.md](results/outage.md): `node bench/outage.js`. An upstream outage (blackhole, then SERVFAIL)',
    '  under steady load: answered share, stale latency, upstream queries while down and after recovery.',
    '- [results/jitter.svg](results/jitter.svg): `node bench/jitter.js`. When 10,000 entries stored together are',
    '  refreshed, with ballast’s jitter and with a fixed refresh point.',
    '- [results/snapshot.md](results/snapshot.md): `node bench/snapshot.js`. Snapshot write and load time for',
    '  100,000 entries, next to writing and reading the same data as JSON.',
    '- [results/handover.md](results/handover.md): `node bench/handover.js`. Two instances hand over the same',
    '  addresses under UDP and TCP load: lookups failed and first attempts lost.',
    '- [results/footprint.md](results/footprint.md): `node bench/footprint.js`. RSS and CPU at stated loads and',
    '  cache sizes; the DaemonSet resources come from it.',
    '',
    ...headlines(),
  );
  return `${lines.join('\n')}\n`;
}

/** The headline figures of the other reports, copied here so this page states them (as of their last run). */
function headlines() {
  const read = (name) => {
    try {
      return fs.readFileSync(path.join(BENCH_DIR, 'results', name), 'utf8');
    } catch {
      return '';
    }
  };
  const out = [];
  const load = /^\| load at start \| ([^|]+) \| ([^|]+) \|/m.exec(read('snapshot.md'));
  if (load)
    out.push(
      `- Snapshot load, 100,000 entries: ${load[1].trim()} (JSON read and parse only: ${load[2].trim()}; target ≤ 1 s).`,
    );
  const hand = [...read('handover.md').matchAll(/^\| (udp|tcp) \| (\d+) \| (\d+) \| (\d+) \|/gm)];
  if (hand.length) {
    out.push(
      `- Handover: ${hand.map((m) => `${m[1].toUpperCase()} ${m[2]} lookups, ${m[3]} failed, ${m[4]} first attempts lost`).join('; ')}.`,
    );
  }
  return out.length ? ['Headline figures from those reports, as of their last run:', '', ...out] : [];
}

// ---------------------------------------------------------------------------------------------------------------

function invokedAs(argv) {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${quoted ? ` -- ${quoted}` : ''}`;
  return `node bench/run.js${quoted ? ` ${quoted}` : ''}`;
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  if (opts.help) {
    const head = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0];
    process.stdout.write(`${head.replace(/^\/\/ ?/gm, '')}\n`);
    return;
  }

  const version = dnsperfVersion();
  if (!version) {
    process.stderr.write('bench: dnsperf not found. Install it with: apt-get install -y dnsperf\n');
    process.exitCode = 1;
    return;
  }
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    process.stderr.write('bench: taskset not usable (it comes with util-linux: apt-get install -y util-linux)\n');
    process.exitCode = 1;
    return;
  }
  const info = machineInfo();
  if (Number(info.nproc) < 2) process.stderr.write('bench: warning: fewer than 2 CPUs, server and dnsperf share one\n');
  if (opts.only.includes('ballast') && !fs.existsSync(path.join(ROOT, 'dist/cli.js'))) {
    process.stderr.write('bench: dist/cli.js is missing; run `npm run build` (or use `npm run bench`)\n');
    process.exitCode = 1;
    return;
  }

  fs.mkdirSync(OUT_DIR, { recursive: true });
  const queryFile = path.join(OUT_DIR, 'queries.txt');
  const queries = [];
  for (let i = 0; i < opts.names; i++) queries.push(`name${i}.bench.test A`);
  fs.writeFileSync(queryFile, `${queries.join('\n')}\n`);

  const ctx = {
    date: new Date(),
    command: invokedAs(argv),
    dnsperfVersion: version,
    latencyQps: opts.latencyQps,
    latencyQpsSource: opts.latencyQps ? 'set by --latency-qps' : null,
  };
  ctx.busyBefore = await machineBusy(1000);
  if (ctx.busyBefore !== null && ctx.busyBefore > BUSY_BEFORE_WARN) {
    process.stderr.write(
      `bench: warning: the machine is ${ctx.busyBefore}% busy before starting; results will be noisy\n`,
    );
  }
  const suts = [];
  try {
    for (const key of opts.only) suts.push(await startAndWarm(key, opts, queryFile));
    // Throughput rounds interleave the systems, so that a slow spell of the machine hits all of them alike.
    for (let round = 1; round <= opts.rounds; round++) {
      for (const sut of suts) await throughputPass(sut, opts, queryFile, round);
    }
    if (!ctx.latencyQps) {
      const slowest = suts.reduce((a, b) => (b.result.throughput.qps < a.result.throughput.qps ? b : a));
      ctx.latencyQps = Math.max(1, Math.round(slowest.result.throughput.qps * LATENCY_LOAD));
      ctx.latencyQpsSource = `${LATENCY_LOAD * 100}% of the slowest system's queries/s (${slowest.key})`;
    }
    for (const sut of suts) await latencyPass(sut, opts, queryFile, ctx.latencyQps);
  } finally {
    await stopAll();
  }
  const results = suts.map((s) => s.result);

  const report = renderReport(results, opts, ctx, info);
  const partial = opts.only.length < Object.keys(SYSTEMS).length;
  const outFile = opts.out ?? (partial ? path.join(OUT_DIR, 'RESULTS.md') : path.join(BENCH_DIR, 'RESULTS.md'));
  fs.writeFileSync(outFile, report);
  process.stdout.write(`\n${renderTable(results)}\n\n`);
  const ballast = results.find((r) => r.key === 'ballast');
  if (ballast) {
    process.stdout.write(
      `upstream queries: ${ballast.upstreamTotal} total, ${ballast.upstreamAfterFill} after pre-warm ` +
        `(${opts.names} distinct names)\n`,
    );
  }
  for (const w of warnings(results, ctx)) process.stdout.write(`${w}\n`);
  process.stdout.write(`report written to ${path.relative(process.cwd(), outFile) || outFile}\n`);
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bench: ${sig}, stopping child processes\n`);
    await stopAll();
    process.exit(130);
  });
}

main().catch(async (err) => {
  process.stderr.write(`bench: ${err instanceof UsageError ? err.message : (err.stack ?? err)}\n`);
  await stopAll();
  process.exitCode = 1;
});
