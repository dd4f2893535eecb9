// How busy the machine and a process are, from /proc. A benchmark on a shared machine is only worth keeping when
// the system under test had its CPU to itself, so the scripts sample the load before a run and during each pass.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { LOADGEN_CPU, NODE, SERVER_CPU, sleep } from './env.js';

let clkTck = null;
const ticksPerSecond = () =>
  (clkTck ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);

/**
 * Per-CPU jiffies from /proc/stat: { '0': { busy, irq, steal, total }, ... } (irq = hard + soft interrupts; steal =
 * time the hypervisor gave to another guest while this one had work).
 */
export function cpuTimes() {
  const out = {};
  if (!fs.existsSync('/proc/stat')) return out;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is already in user
    out[m[1]] = { busy: total - v[3] - v[4], irq: v[5] + v[6], steal: v[7], total }; // busy = all but idle and iowait
  }
  return out;
}

/** Busy, interrupt and steal percentages per CPU between two cpuTimes() samples: { '0': { busy, irq, steal } }. */
export function cpuBusy(a, b) {
  const out = {};
  for (const cpu of Object.keys(b)) {
    const dt = b[cpu].total - (a[cpu]?.total ?? 0);
    if (a[cpu] && dt > 0) {
      out[cpu] = {
        busy: Math.round((100 * (b[cpu].busy - a[cpu].busy)) / dt),
        irq: Math.round((100 * (b[cpu].irq - a[cpu].irq)) / dt),
        steal: Math.round((100 * (b[cpu].steal - a[cpu].steal)) / dt),
      };
    }
  }
  return out;
}

/** How busy the whole machine is over `ms` milliseconds, in percent of all CPUs (null without /proc). */
export async function machineBusy(ms) {
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

/** CPU seconds (user + system, all threads) a process has used so far; null once it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond(); // #14 utime, #15 stime
  } catch {
    return null;
  }
}

/**
 * A process's resident memory now (VmRSS) and at its peak so far (VmHWM), in bytes, and the two parts of VmRSS:
 * anonymous memory (heap, malloc, buffers: what the process itself holds) and file-backed pages (mostly the node
 * executable's code and built-in snapshot, clean pages the kernel can drop and re-read).
 */
export function processMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    rss: kib('VmRSS') * 1024,
    hwm: kib('VmHWM') * 1024,
    anon: kib('RssAnon') * 1024,
    file: kib('RssFile') * 1024,
  };
}

/**
 * Runs `fn` and reports how the server CPU was shared meanwhile: its busy %, split into the server process `pid`,
 * interrupts (loopback packet work is mostly softirq), steal (the hypervisor ran something else) and the rest, plus
 * the load generator CPU's busy % and steal. A large "other" share means another process took the CPU from the
 * server and the pass is suspect; the kernel may charge some softirq time to the process too, so "other" is a lower
 * bound.
 */
export async function cpuShareDuring(pid, fn) {
  const cpuBefore = cpuTimes();
  const procBefore = processCpuSeconds(pid);
  const wallBefore = performance.now();
  const result = await fn();
  const busy = cpuBusy(cpuBefore, cpuTimes());
  const procAfter = processCpuSeconds(pid);
  const wall = (performance.now() - wallBefore) / 1000;
  const server = busy[SERVER_CPU];
  const proc = procBefore === null || procAfter === null ? null : Math.round((100 * (procAfter - procBefore)) / wall);
  const cpu = {
    server: server?.busy ?? null,
    serverProcess: proc,
    serverIrq: server?.irq ?? null,
    serverOther: server && proc !== null ? Math.max(0, server.busy - server.irq - server.steal - proc) : null,
    serverSteal: server?.steal ?? null,
    loadgen: busy[LOADGEN_CPU]?.busy ?? null,
    loadgenSteal: busy[LOADGEN_CPU]?.steal ?? null,
  };
  return { result, cpu };
}

const pct = (v) => (v === null || v === undefined ? '?' : `${v}%`);

export function formatCpuShare(c) {
  return (
    `cpu${SERVER_CPU} ${pct(c.server)} busy (server ${pct(c.serverProcess)}, irq ${pct(c.serverIrq)}, ` +
    `steal ${pct(c.serverSteal)}, other ${pct(c.serverOther)}), cpu${LOADGEN_CPU} ${pct(c.loadgen)} busy ` +
    `(steal ${pct(c.loadgenSteal)})`
  );
}

/** CPU model, CPU count, kernel and the Node.js that runs the servers, for a report's header. */
export function machineInfo() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
  const nodeVersion = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  return { model, nproc, nodeVersion, kernel: `${os.type()} ${os.release()}` };
}
