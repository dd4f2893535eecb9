// Where the bench scripts find things and which CPU does what. Every script takes these from here so that the
// pinning (system under test on one CPU, load generator on the other) means the same in every report.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HOST = '127.0.0.1';
export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
/** Scratch output (git-ignored): query files, raw dnsperf output, servers' stderr, reports of non-default runs. */
export const OUT_DIR = path.join(BENCH_DIR, 'out');
/** Checked-in reports of the scripts other than run.js. */
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
/** The project's Node 24 (the `node` devDependency) when installed: the machine's own node may be older. */
export const NODE = fs.existsSync(path.join(ROOT, 'node_modules/.bin/node'))
  ? path.join(ROOT, 'node_modules/.bin/node')
  : process.execPath;
/** taskset CPU of the system under test. */
export const SERVER_CPU = '0';
/** taskset CPU of dnsperf and of bench/upstream.js (idle while cache hits are measured). */
export const LOADGEN_CPU = '1';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function ensureOutDir() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  return OUT_DIR;
}

/** A command line as one string a reader can paste from the repository root (paths under it made relative). */
export function displayCommand(argv) {
  return argv
    .map((a) => String(a).replaceAll(`${ROOT}/`, ''))
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(' ');
}
