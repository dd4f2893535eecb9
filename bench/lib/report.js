// Formatting for the markdown reports, and writing them.
import fs from 'node:fs';
import path from 'node:path';

// mdTable is the product's (src/util/markdown.ts, which the fleet simulation's report uses too).
export { mdTable } from '../../dist/util/markdown.js';

export const fmtInt = (v) =>
  v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Math.round(v).toLocaleString('en-US');

/** Milliseconds with 3 decimals below 1 ms, else 2; a lost query (Infinity) reads "timeout". */
export function fmtMs(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return 'timeout';
  return v < 1 ? v.toFixed(3) : v.toFixed(2);
}

export const pct = (v) => (v === null || v === undefined ? '?' : `${v}%`);

export const median = (values) => {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/** The command that reproduces this run, as a report states it (`npm run NAME -- ...` when npm started it). */
export function invokedAs(script, argv, npmScript) {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
  if (npmScript && process.env.npm_lifecycle_event === npmScript) {
    return `npm run ${npmScript}${quoted ? ` -- ${quoted}` : ''}`;
  }
  return `node ${script}${quoted ? ` ${quoted}` : ''}`;
}

export function writeReport(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return path.relative(process.cwd(), file) || file;
}
