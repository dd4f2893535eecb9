// How often this machine takes a CPU away from a process that wants it. A virtual machine's CPUs stop whenever the
// hypervisor runs something else (steal), and kernel threads and interrupts take their turns too. A query that
// arrives while the server's CPU is stopped waits until it runs again, however fast the server is, so these stalls
// set a floor under every server's tail latency on the machine (docs/performance.md §7).
//
// The probe is a process per CPU that reads the clock in a tight loop and records every gap between two readings
// longer than STALL_MS; the loop allocates nothing once compiled, so a gap is time the CPU spent elsewhere.
import { spawn } from 'node:child_process';
import { LOADGEN_CPU, NODE, SERVER_CPU } from './env.js';

/** Gaps shorter than this are the loop's own noise (a timer interrupt, a scavenge of its few objects). */
export const STALL_MS = 0.5;
/** The latency that a stall's excess is measured against: issue 11's p99 target. */
export const STALL_TARGET_MS = 1;

const probe = (seconds) => `
const end = performance.now() + ${seconds * 1000};
const gaps = [];
let last = performance.now();
for (;;) {
  const now = performance.now();
  if (now - last > ${STALL_MS}) gaps.push(now - last);
  last = now;
  if (now > end) break;
}
process.stdout.write(JSON.stringify(gaps));
`;

function probeCpu(cpu, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpu, NODE, '-e', probe(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the stall probe on CPU ${cpu} exited with ${code}`));
      else resolve(JSON.parse(out));
    });
  });
}

/**
 * Spins on the server CPU and the load generator CPU at once for `seconds` while nothing else runs, and sums up the
 * stalls of each: { '0': { stalls, over1ms, stalledMs, share, excessMs, excessShare, longestMs }, ... }. `excessShare`
 * is the part of each stall beyond 1 ms as a share of the time: on the server CPU, that share of queries arriving
 * at an even rate waits more than 1 ms no matter what the server does. While the machine stays as it was measured,
 * it is a lower bound of the queries that any server on it answers later than 1 ms.
 */
export async function measureStalls(seconds) {
  const cpus = [SERVER_CPU, LOADGEN_CPU];
  const gaps = await Promise.all(cpus.map((cpu) => probeCpu(cpu, seconds)));
  const out = {};
  cpus.forEach((cpu, i) => {
    const g = gaps[i];
    const stalledMs = g.reduce((a, b) => a + b, 0);
    const excessMs = g.reduce((a, b) => a + Math.max(0, b - STALL_TARGET_MS), 0);
    out[cpu] = {
      stalls: g.length,
      over1ms: g.filter((x) => x > STALL_TARGET_MS).length,
      stalledMs,
      share: stalledMs / (seconds * 1000),
      excessMs,
      excessShare: excessMs / (seconds * 1000),
      longestMs: g.length ? Math.max(...g) : 0,
    };
  });
  return out;
}

/**
 * The CPUs' stalls in words, e.g. "cpu0: 31 stalls over 0.5 ms in 10 s (12 over 1 ms), 64 ms in all (0.64 %),
 * longest 7.6 ms; beyond 1 ms: 0.30 % of the time; cpu1: …".
 */
export function formatStalls(stalls, seconds) {
  return Object.entries(stalls)
    .map(
      ([cpu, s]) =>
        `cpu${cpu}: ${s.stalls} stalls over ${STALL_MS} ms in ${seconds} s (${s.over1ms} over ${STALL_TARGET_MS} ms), ` +
        `${s.stalledMs.toFixed(0)} ms in all (${(100 * s.share).toFixed(2)} %), longest ${s.longestMs.toFixed(1)} ms; ` +
        `beyond ${STALL_TARGET_MS} ms: ${(100 * s.excessShare).toFixed(2)} % of the time`,
    )
    .join('; ');
}
