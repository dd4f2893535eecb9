// dnsperf: the load generator of the UDP benchmarks, pinned to the load-generator CPU, with its output parsed.
// Every run has a time limit (-l) and a query bound (-n), and is killed if it overruns both.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { displayCommand, ensureOutDir, HOST, LOADGEN_CPU } from './env.js';
import { mixLines } from './mix.js';
import { UsageError } from './options.js';
import { pinned, startProcess, stopProcess } from './processes.js';

/** dnsperf's version, or null when it is not installed. */
export function dnsperfVersion() {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  if (r.error) return null;
  return /Version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** Throws a UsageError naming the package to install when dnsperf or taskset is missing; returns dnsperf's version. */
export function requireLoadTools() {
  const version = dnsperfVersion();
  if (!version) throw new UsageError('dnsperf not found; install it with: apt-get install -y dnsperf');
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    throw new UsageError('taskset is not usable (it comes with util-linux: apt-get install -y util-linux)');
  }
  return version;
}

/** Writes `nameI.bench.test A` for I in [from, to) to bench/out/FILE; returns its path. */
export function writeQueryFile(file, from, to) {
  const out = path.join(ensureOutDir(), file);
  const lines = [];
  for (let i = from; i < to; i++) lines.push(`name${i}.bench.test A`);
  fs.writeFileSync(out, `${lines.join('\n')}\n`);
  return out;
}

/** Writes the realistic mix's queries (bench/lib/mix.js) for entries [from, to) to bench/out/FILE; returns its path. */
export function writeMixFile(file, from, to) {
  const out = path.join(ensureOutDir(), file);
  fs.writeFileSync(out, `${mixLines(from, to).join('\n')}\n`);
  return out;
}

/** dnsperf's -n (passes over the query file) for `qps` over `seconds`: a bound just above what -l allows. */
export const runsFor = (qps, seconds, names) => Math.ceil((qps * seconds) / names) + 1;

/**
 * Runs dnsperf against 127.0.0.1:PORT. Raw output goes to bench/out/TAG.dnsperf.txt (with -v when `verbose`),
 * stderr to TAG.stderr. Resolves its parsed summary plus `command` (for reports).
 */
export async function runDnsperf(tag, port, queryFile, opts) {
  const { duration, runs, outstanding = 100, clients = 1, qps, timeout = 2, verbose = false } = opts;
  const args = ['-s', HOST, '-p', String(port), '-d', queryFile, '-l', String(duration), '-q', String(outstanding)];
  if (clients > 1) args.push('-c', String(clients));
  if (runs) args.push('-n', String(runs));
  if (qps) args.push('-Q', String(qps));
  args.push('-t', String(timeout));
  if (verbose) args.push('-v');
  const argv = pinned(LOADGEN_CPU, ['dnsperf', ...args]);
  const outFile = path.join(ensureOutDir(), `${tag}.dnsperf.txt`);
  const errFile = path.join(ensureOutDir(), `${tag}.stderr`);
  const fd = fs.openSync(outFile, 'w');
  const child = startProcess(`dnsperf ${tag}`, argv, { stdout: fd, stderrFile: errFile });
  fs.closeSync(fd);
  // Hard bound on top of dnsperf's own -l: its time limit plus the query timeout plus slack.
  const killer = setTimeout(() => stopProcess(child, 2000), (duration + timeout + 15) * 1000);
  const info = await child.exited;
  clearTimeout(killer);
  if (info.error) throw new Error(`could not run dnsperf: ${info.error.message}`);
  if (info.code !== 0) {
    throw new Error(`dnsperf ${tag} failed (${JSON.stringify(info)}): ${fs.readFileSync(errFile, 'utf8').trim()}`);
  }
  const summary = parseDnsperfSummary(fs.readFileSync(outFile, 'utf8'));
  summary.command = displayCommand(argv);
  summary.outFile = outFile;
  return summary;
}

/** dnsperf's closing statistics; `rcodes` is its "Response codes" line, `rcodeCounts` the same as numbers. */
export function parseDnsperfSummary(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  };
  const rcodes = /Response codes:\s+(.*)/.exec(text)?.[1]?.trim() ?? '';
  const s = {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    runTime: num(/Run time \(s\):\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/),
    rcodes,
    rcodeCounts: Object.fromEntries([...rcodes.matchAll(/([A-Z]+) (\d+)/g)].map((m) => [m[1], Number(m[2])])),
  };
  if (s.qps === null || s.sent === null) throw new Error('could not parse dnsperf output');
  s.avgLatencyMs = s.avgLatencyMs === null ? null : s.avgLatencyMs * 1000;
  return s;
}

/**
 * Per-query latencies (ms, sorted) from `dnsperf -v` lines "> RCODE name type seconds"; timeouts ("> T ...") and
 * interrupted queries ("> I ...") are counted apart.
 */
export async function readVerboseLatencies(file) {
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

/** Nearest-rank percentile of sorted latencies; the `lost` queries sort after every answered one (Infinity). */
export function percentile(sorted, lost, p) {
  const n = sorted.length + lost;
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return rank <= sorted.length ? sorted[rank - 1] : Number.POSITIVE_INFINITY;
}

/** Queries answered later than `ms`, or not at all, as a share of all the pass sent (0..1). */
export function lateShare(sorted, lost, ms) {
  let i = sorted.length;
  while (i > 0 && sorted[i - 1] > ms) i--;
  const n = sorted.length + lost;
  return n === 0 ? null : (sorted.length - i + lost) / n;
}

/**
 * A dnsperf pass at a fixed rate with -v: its summary plus p50, p99, p99.9 and max over the per-query latencies, lost
 * queries counted as slowest, and the share of queries later than 1 ms (issue 11's p99 target holds when it is at
 * most 1 %). At full load latency only shows dnsperf's -q queue (Little's law), hence the rate.
 */
export async function latencyPass(tag, port, queryFile, { duration, qps, names, outstanding, clients }) {
  const run = await runDnsperf(tag, port, queryFile, {
    duration,
    runs: runsFor(qps, duration, names),
    outstanding,
    clients,
    qps,
    verbose: true,
  });
  const { lat, timeouts, interrupted } = await readVerboseLatencies(run.outFile);
  const lost = Math.max(timeouts + interrupted, run.lost ?? 0);
  return {
    ...run,
    samples: lat.length,
    lostCounted: lost,
    p50: percentile(lat, lost, 50),
    p99: percentile(lat, lost, 99),
    p999: percentile(lat, lost, 99.9),
    max: lat.length ? lat[lat.length - 1] : null,
    over1ms: lateShare(lat, lost, 1),
  };
}
