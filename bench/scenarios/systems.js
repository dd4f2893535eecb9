// What the UDP scenarios share: a system under test (the baseline responder, or ballast in front of bench/upstream.js)
// started pinned to the server CPU and warmed, throughput passes interleaved across systems, a latency pass at one
// fixed rate for all, and the ratio to the baseline. cache-hit.js, stale.js and mixed.js are built from these.
import {
  ballastCommand,
  cpuShareDuring,
  displayCommand,
  formatCpuShare,
  freePort,
  latencyPass,
  median,
  pinned,
  responderCommand,
  runDnsperf,
  runsFor,
  SERVER_CPU,
  startSystem,
  startUpstream,
  stopProcess,
} from '../lib/index.js';

/** The latency pass runs at this fraction of the slowest system's queries/s. */
export const LATENCY_LOAD = 0.5;
/** Seconds of unreported full load after the fill pass, for the JIT. */
export const JIT_SECONDS = 3;

/**
 * Starts system `key` ('baseline' or 'ballast') and pre-warms it with one pass over `warmFile` that must come back
 * NOERROR for all `names` names. `config` is extra YAML for ballast. Returns the system under test:
 * { key, tag, port, upstream, result, server }.
 */
export async function startWarm({ scenario, key, label, opts, warmFile, names, config = '', log }) {
  const tag = `${scenario}.${key}`;
  const port = await freePort();
  const result = { key, label, throughputRuns: [] };
  let upstream = null;
  let argv;
  if (key === 'ballast') {
    upstream = await startUpstream(tag);
    const adminPort = await freePort();
    argv = ballastCommand({
      port,
      upstreamPort: upstream.port,
      adminPort,
      config,
    });
  } else {
    argv = responderCommand(port);
  }
  result.command = displayCommand(pinned(SERVER_CPU, argv));
  log(`starting: ${result.command}`);
  const sut = { key, tag, port, upstream, result, server: null };
  try {
    sut.server = await startSystem(tag, argv, port);
  } catch (err) {
    if (upstream) await stopProcess(upstream.child);
    throw err;
  }
  log(`pre-warm: one pass over ${names} names`);
  const load = { outstanding: opts.outstanding, clients: opts.clients };
  result.fill = await runDnsperf(`${tag}.warm-fill`, port, warmFile, { duration: 60, runs: 1, timeout: 5, ...load });
  const noerror = result.fill.rcodeCounts.NOERROR ?? 0;
  if (noerror !== names) {
    throw new Error(
      `${key}: the pre-warm pass got NOERROR for ${noerror} of ${names} names (${result.fill.rcodes || 'no answers'}, ` +
        `${result.fill.lost} lost), so the measured passes would not be what they claim`,
    );
  }
  if (upstream) result.upstreamAfterWarm = await upstream.count();
  return sut;
}

/** A few seconds of unreported full load over `file`, so the JIT has settled before anything is measured. */
export async function jitWarm(sut, opts, file, names, log) {
  const jit = Math.min(JIT_SECONDS, opts.duration);
  log(`pre-warm: ${jit}s at full load`);
  const load = { outstanding: opts.outstanding, clients: opts.clients };
  await runDnsperf(`${sut.tag}.warm-load`, sut.port, file, {
    duration: jit,
    runs: runsFor(opts.maxQps, jit, names),
    qps: opts.maxQps,
    ...load,
  });
  ensureAlive(sut, 'during the pre-warm');
}

export function ensureAlive(sut, phase) {
  if (sut.server.exitInfo) throw new Error(`${sut.key} exited ${phase} (${JSON.stringify(sut.server.exitInfo)})`);
}

/** One throughput pass over `file` (at most `runs` passes over it); the median pass so far becomes result.throughput. */
export async function throughputPass(sut, opts, file, runs, round, log) {
  log(`throughput round ${round}/${opts.rounds}: ${opts.duration}s, -q ${opts.outstanding}, -Q ${opts.maxQps}`);
  const { result: run, cpu } = await cpuShareDuring(sut.server.pid, () =>
    runDnsperf(`${sut.tag}.throughput-${round}`, sut.port, file, {
      duration: opts.duration,
      runs,
      outstanding: opts.outstanding,
      clients: opts.clients,
      qps: opts.maxQps,
    }),
  );
  run.cpu = cpu;
  log(`  ${run.qps.toFixed(0)} queries/s, lost ${run.lost}; ${formatCpuShare(cpu)}`);
  ensureAlive(sut, 'during a throughput pass');
  const { result } = sut;
  result.throughputRuns.push(run);
  const sorted = [...result.throughputRuns].sort((a, b) => a.qps - b.qps);
  result.throughput = sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Queries/s relative to the baseline: the median over rounds of (system / baseline) of the same round, which
 * cancels most of the machine's drift since the two passes of a round run back to back.
 */
export function ratioToBaseline(r, base) {
  const n = Math.min(r.throughputRuns.length, base.throughputRuns.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(r.throughputRuns[i].qps / base.throughputRuns[i].qps);
  return median(ratios);
}

/** The latency passes: one per system at the same rate, half the slowest system's queries/s unless set. */
export async function latencyPasses(suts, opts, file, names, log) {
  const latency = { qps: opts.latencyQps, source: opts.latencyQps ? 'set by --latency-qps' : null };
  if (!latency.qps) {
    const slowest = suts.reduce((a, b) => (b.result.throughput.qps < a.result.throughput.qps ? b : a));
    latency.qps = Math.max(1, Math.round(slowest.result.throughput.qps * LATENCY_LOAD));
    latency.source = `${LATENCY_LOAD * 100}% of the slowest system's queries/s (${slowest.key})`;
  }
  for (const sut of suts) {
    log(`[${sut.key}] latency: ${opts.duration}s at ${latency.qps} queries/s`);
    const { result, cpu } = await cpuShareDuring(sut.server.pid, () =>
      latencyPass(`${sut.tag}.latency`, sut.port, file, {
        duration: opts.duration,
        qps: latency.qps,
        names,
        outstanding: opts.outstanding,
        clients: opts.clients,
      }),
    );
    sut.result.latency = { ...result, cpu };
    log(`  p99 ${result.p99?.toFixed(2)} ms, ${(100 * result.over1ms).toFixed(2)} % over 1 ms; ${formatCpuShare(cpu)}`);
    ensureAlive(sut, 'during the latency pass');
  }
  return latency;
}

export async function stopAllSystems(suts) {
  for (const sut of suts) {
    if (sut.server) await stopProcess(sut.server);
    if (sut.upstream) await stopProcess(sut.upstream.child);
  }
}

/** A system's figures without the per-pass file paths. */
export function toJson(r) {
  const strip = (x) => {
    if (!x) return x;
    const { outFile, ...rest } = x;
    return rest;
  };
  return {
    ...r,
    fill: strip(r.fill),
    throughput: strip(r.throughput),
    throughputRuns: r.throughputRuns.map(strip),
    latency: strip(r.latency),
  };
}
