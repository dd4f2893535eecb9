import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, isIPv6, type Socket } from 'node:net';
import { Ede, edeCodeOf, encodeName, FrameDecoder, frame, ownQuery, scanResponse } from '../wire/index.js';
import { html, PHASES, type Phase, type Second, summarize, table } from './report.js';

/**
 * `ballast drill`: steady query load at a target resolver through warm → fault → recover, with the fault switched
 * on and off over the target's admin API (or, with `external`, by the operator or Chaos Mesh), a live line per
 * second, a table per phase, SLO gates and an HTML report (docs/design.md §9).
 */
export interface DrillOptions {
  readonly target: { host: string; port: number };
  readonly admin?: { host: string; port: number };
  readonly fault: {
    kind: string;
    zone?: string;
    upstream?: string;
    delayMs?: number;
    spreadMs?: number;
    percent?: number;
    concurrency?: number;
  };
  readonly warmSeconds: number;
  readonly faultSeconds: number;
  readonly recoverSeconds: number;
  readonly rate: number;
  readonly protocol: 'udp' | 'tcp';
  readonly timeoutMs: number;
  readonly namesFile?: string;
  readonly external: boolean;
  readonly sloAnsweredPct?: number;
  readonly sloP99Ms?: number;
  readonly json: boolean;
  readonly reportFile?: string;
  readonly tokenFile?: string;
  /** Where live lines and notices go (stderr); tests capture them. */
  readonly out: (line: string) => void;
}

export interface DrillResult {
  readonly summaries: ReturnType<typeof summarize>;
  readonly seconds: Second[];
  readonly sloMisses: string[];
}

interface Name {
  readonly wire: Buffer;
  readonly type: number;
}

/** Names to query: a file ("name [type]" per line, # comments) or the target's cache (GET /chaos/names). */
async function loadNames(opts: DrillOptions): Promise<Name[]> {
  const TYPES: Record<string, number> = { A: 1, AAAA: 28, SRV: 33, TXT: 16, PTR: 12, MX: 15, CNAME: 5, NS: 2, SOA: 6 };
  let list: { name: string; type: number }[];
  if (opts.namesFile !== undefined) {
    list = readFileSync(opts.namesFile, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
      .map((l) => {
        const [name, type = 'A'] = l.split(/\s+/);
        const t = TYPES[type.toUpperCase()] ?? Number(type);
        if (!Number.isInteger(t) || t <= 0 || t > 65535)
          throw new Error(`names file: bad type ${JSON.stringify(type)}`);
        return { name, type: t };
      });
  } else if (opts.admin !== undefined) {
    const body = (await adminCall(opts, 'GET', '/chaos/names?limit=5000')) as {
      names?: { name: string; type: number }[];
    };
    list = body.names ?? [];
  } else {
    throw new Error('no names: give --names FILE, or --admin so names can be taken from the target');
  }
  if (list.length === 0)
    throw new Error('no names to query (the names file is empty, or the target has cached nothing yet)');
  return list.map((n) => ({ wire: encodeName(n.name), type: n.type }));
}

async function adminCall(opts: DrillOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const a = opts.admin!;
  const host = isIPv6(a.host) ? `[${a.host}]` : a.host;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.tokenFile !== undefined) headers.authorization = `Bearer ${readFileSync(opts.tokenFile, 'utf8').trim()}`;
  const res = await fetch(`http://${host}:${a.port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.trim()}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
}

/** The sum of ballast_upstream_queries_total on the target, or undefined (no admin, not ballast, unreachable). */
async function upstreamTotal(opts: DrillOptions): Promise<number | undefined> {
  if (opts.admin === undefined) return undefined;
  try {
    const text = String(await adminCall(opts, 'GET', '/metrics'));
    let sum = 0;
    let seen = false;
    for (const m of text.matchAll(/^ballast_upstream_queries_total\{[^}]*\} (\S+)$/gm)) {
      sum += Number(m[1]);
      seen = true;
    }
    return seen ? sum : 0;
  } catch {
    return undefined;
  }
}

/** The EDNS payload size the drill advertises (DNS Flag Day 2020). */
const DRILL_UDP_SIZE = 1232;

/** One query with RD and EDNS (so stale answers carry their EDE), built by the wire codec. */
function encodeQuery(id: number, n: Name): Buffer {
  const { query } = ownQuery(n.wire, n.type, DRILL_UDP_SIZE);
  query.writeUInt16BE(id, 0);
  return query;
}

/** A transport that sends queries and reports each answer (or timeout) by ID. */
interface Transport {
  send(msg: Buffer): void;
  close(): void;
}

function udpTransport(opts: DrillOptions, onAnswer: (msg: Buffer) => void): Transport {
  const socket = createSocket(isIPv6(opts.target.host) ? 'udp6' : 'udp4');
  socket.on('message', onAnswer);
  socket.on('error', () => {});
  return {
    send: (msg) => socket.send(msg, opts.target.port, opts.target.host),
    close: () => socket.close(),
  };
}

function tcpTransport(opts: DrillOptions, onAnswer: (msg: Buffer) => void): Transport {
  let sock: Socket | undefined;
  let closed = false;
  const open = () => {
    const s = connect({ host: opts.target.host, port: opts.target.port });
    const frames = new FrameDecoder();
    s.setNoDelay(true);
    s.on('data', (d) => {
      if (!frames.push(d, onAnswer)) s.destroy();
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (sock === s) sock = undefined;
    });
    return s;
  };
  return {
    send(msg) {
      if (closed) return;
      sock ??= open();
      sock.write(frame(msg));
    },
    close() {
      closed = true;
      sock?.destroy();
    },
  };
}

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
          fault: opts.external ? 'external (operator or Chaos Mesh)' : JSON.stringify(opts.fault),
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

async function startFault(opts: DrillOptions): Promise<string | undefined> {
  if (opts.external) {
    opts.out('fault phase: break the upstream now (external mode: ballast injects nothing)');
    return undefined;
  }
  if (opts.admin === undefined) throw new Error('--admin is required to inject a fault (or use --external)');
  // The fault outlives the phase a little, and ends by itself if this drill dies.
  const f = (await adminCall(opts, 'POST', '/chaos/faults', {
    ...opts.fault,
    durationSeconds: opts.faultSeconds + 30,
  })) as { id: string };
  opts.out(`fault phase: ${opts.fault.kind} injected (${f.id})`);
  return f.id;
}

async function endFault(opts: DrillOptions, id: string | undefined): Promise<void> {
  if (opts.external) {
    opts.out('recover phase: restore the upstream now');
    return;
  }
  if (id === undefined) return;
  await adminCall(opts, 'DELETE', `/chaos/faults/${id}`);
  opts.out(`recover phase: fault ${id} cleared`);
}

export { PHASES, table };

/** A stale answer: EDE 3 or 19 (RFC 8914), with or without EXTRA-TEXT (a last known good answer says why). */
function isStale(msg: Buffer): boolean {
  try {
    const scan = scanResponse(msg);
    const ede = edeCodeOf(msg, scan.optStart, scan.optEnd);
    return ede === Ede.STALE_ANSWER || ede === Ede.STALE_NXDOMAIN;
  } catch {
    return false;
  }
}
