import { writeFileSync } from 'node:fs';
import { faultText, html } from './html.js';
import { loadNames } from './names.js';
import type { DrillOptions, DrillResult } from './options.js';
import { type Phase, type Second, summarize } from './summary.js';
import { endFault, startFault, upstreamTotal } from './target.js';
import { encodeQuery, isStale, tcpTransport, udpTransport } from './transport.js';

/**
 * Runs the drill: `rate` queries a second at the target through warm → fault → recover, the fault switched over the
 * target's admin API (target.ts), a live line per second, then the per-phase summary, the SLO gates and the report.
 */
export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  // Names are taken in a shuffled cycle, not at random, so a warm phase of at least names/rate seconds has asked
  // for every name once before the fault begins.
  const names = shuffle(await loadNames(opts));
  let cursor = 0;
  const seconds: Second[] = [];
  const pending = new Map<number, { at: number; second: Second; timer: NodeJS.Timeout }>();
  const onAnswer = (msg: Buffer) => {
    if (msg.length < 12) return;
    const p = pending.get(msg.readUInt16BE(0));
    if (p === undefined) return;
    pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    const rcode = msg.readUInt16BE(2) & 0xf;
    const s = p.second;
    if (rcode === 0 || rcode === 3) {
      s.answered++;
      if (isStale(msg)) s.stale++;
      if (rcode === 3 || msg.readUInt16BE(6) === 0) s.negative++;
    } else if (rcode === 2) s.servfail++;
    else s.other++;
    s.latenciesMs.push(performance.now() - p.at);
  };
  const transport = opts.protocol === 'tcp' ? tcpTransport(opts, onAnswer) : udpTransport(opts, onAnswer);
  let nextId = 0;
  let faultId: string | undefined;
  const total = opts.warmSeconds + opts.faultSeconds + opts.recoverSeconds;
  const phaseAt = (t: number): Phase =>
    t < opts.warmSeconds ? 'warm' : t < opts.warmSeconds + opts.faultSeconds ? 'fault' : 'recover';
  let lastUpstream = await upstreamTotal(opts);
  try {
    for (let t = 0; t < total; t++) {
      const phase = phaseAt(t);
      if (phase === 'fault' && phaseAt(t - 1) === 'warm') faultId = await startFault(opts);
      if (phase === 'recover' && phaseAt(t - 1) === 'fault') {
        await endFault(opts, faultId);
        faultId = undefined;
      }
      const second: Second = {
        t,
        phase,
        sent: 0,
        answered: 0,
        stale: 0,
        negative: 0,
        servfail: 0,
        other: 0,
        timeouts: 0,
        latenciesMs: [],
        upstream: undefined,
      };
      seconds.push(second);
      const start = performance.now();
      // `rate` queries spread over the second in 10 ms ticks; bounded by the phase length.
      for (let tick = 0; tick < 100; tick++) {
        const due = Math.round(((tick + 1) * opts.rate) / 100) - Math.round((tick * opts.rate) / 100);
        for (let k = 0; k < due; k++) {
          if (pending.size >= 60_000) break; // IDs are 16 bits; never reuse one still waiting
          let id = nextId;
          while (pending.has(id)) id = (id + 1) & 0xffff;
          nextId = (id + 1) & 0xffff;
          const timer = setTimeout(() => {
            if (pending.delete(id)) second.timeouts++;
          }, opts.timeoutMs);
          pending.set(id, { at: performance.now(), second, timer });
          second.sent++;
          transport.send(encodeQuery(id, names[cursor++ % names.length]));
        }
        const wait = start + (tick + 1) * 10 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const now = await upstreamTotal(opts);
      second.upstream = now !== undefined && lastUpstream !== undefined ? now - lastUpstream : undefined;
      lastUpstream = now;
      const prev = seconds.at(-2);
      if (prev !== undefined) opts.out(liveLine(prev));
    }
    // Let the last queries answer or time out.
    await new Promise((r) => setTimeout(r, opts.timeoutMs + 50));
    opts.out(liveLine(seconds.at(-1)!));
  } finally {
    if (faultId !== undefined) await endFault(opts, faultId).catch(() => {});
    transport.close();
    for (const p of pending.values()) clearTimeout(p.timer);
  }
  const summaries = summarize(seconds);
  const sloMisses: string[] = [];
  for (const s of summaries) {
    if (opts.sloAnsweredPct !== undefined && !(s.answeredPct >= opts.sloAnsweredPct)) {
      sloMisses.push(`${s.phase}: answered ${s.answeredPct.toFixed(2)} % < ${opts.sloAnsweredPct} %`);
    }
    if (opts.sloP99Ms !== undefined && !(s.p99Ms <= opts.sloP99Ms)) {
      sloMisses.push(`${s.phase}: p99 ${s.p99Ms.toFixed(1)} ms > ${opts.sloP99Ms} ms`);
    }
  }
  if (opts.reportFile !== undefined) {
    writeFileSync(
      opts.reportFile,
      html({
        title: `ballast drill: ${opts.fault.kind} against ${opts.target.host}:${opts.target.port}`,
        settings: {
          target: `${opts.target.host}:${opts.target.port} (${opts.protocol})`,
          fault: faultText(opts),
          phases: `warm ${opts.warmSeconds} s, fault ${opts.faultSeconds} s, recover ${opts.recoverSeconds} s`,
          rate: `${opts.rate} queries/s, timeout ${opts.timeoutMs} ms`,
          date: new Date().toISOString(),
        },
        summaries,
        seconds,
        slo: sloMisses,
      }),
    );
  }
  return { summaries, seconds, sloMisses };
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function liveLine(s: Second): string {
  const pct = (n: number) => (s.sent === 0 ? 'n/a' : `${((100 * n) / s.sent).toFixed(1)}%`);
  const lat = [...s.latenciesMs].sort((a, b) => a - b);
  const p99 = lat.length === 0 ? 'n/a' : `${lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))].toFixed(1)}ms`;
  return `t=${String(s.t).padStart(3)}s ${s.phase.padEnd(7)} sent=${s.sent} answered=${pct(s.answered)} stale=${pct(s.stale)} negative=${pct(s.negative)} servfail=${pct(s.servfail)} timeouts=${s.timeouts} p99=${p99} upstream=${s.upstream ?? 'n/a'}/s`;
}
