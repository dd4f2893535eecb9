// Command-line options of the bench scripts: one parser, so that every script accepts `--flag value`,
// `--flag=value` and `--help` alike, rejects unknown flags, and bounds every number it is given.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUT_DIR } from './env.js';

export class UsageError extends Error {}

/** The command-line flag of an option key: maxQps → --max-qps. */
export const flagOf = (key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function convert(flag, spec, raw) {
  const number = (v) => {
    const n = Number(v);
    const min = spec.min ?? Number.NEGATIVE_INFINITY;
    const max = spec.max ?? Number.POSITIVE_INFINITY;
    if (v === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`${flag}: want a number from ${spec.min ?? '-∞'} to ${spec.max ?? '∞'}, got ${v}`);
    }
    if (spec.type.startsWith('int') && !Number.isInteger(n)) throw new UsageError(`${flag}: want an integer, got ${v}`);
    return n;
  };
  const list = () =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  switch (spec.type) {
    case 'int':
    case 'number':
      return number(raw);
    case 'int-list':
      return list().map(number);
    case 'path':
      return path.resolve(raw);
    case 'choice':
    case 'choice-list': {
      const values = spec.type === 'choice' ? [raw] : list();
      for (const v of values) {
        if (!spec.choices.includes(v)) throw new UsageError(`${flag}: unknown ${v} (${spec.choices.join(', ')})`);
      }
      return spec.type === 'choice' ? raw : spec.choices.filter((c) => values.includes(c));
    }
    default:
      return raw;
  }
}

/**
 * Parses `argv` by `spec`: { key: { type, default, min, max, choices, figures } }, type one of int, number,
 * int-list, string, path, choice, choice-list, flag. The flag of `maxQps` is `--max-qps`. `figures: false` marks an
 * option that does not change the measured figures (an output path, a skipped build), see reportPath().
 * Returns the options with `help` and `figureFlags` (the figure-changing flags that were given).
 */
export function parseOptions(argv, spec) {
  const opts = { help: false, figureFlags: [] };
  const byFlag = new Map();
  for (const [key, s] of Object.entries(spec)) {
    opts[key] = s.default ?? (s.type === 'flag' ? false : null);
    byFlag.set(flagOf(key), [key, s]);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      opts.help = true;
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const entry = byFlag.get(flag);
    if (!entry) throw new UsageError(`unknown argument ${arg} (see --help)`);
    const [key, s] = entry;
    if (s.type === 'flag') opts[key] = true;
    else {
      if (inline === undefined && i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      opts[key] = convert(flag, s, inline ?? argv[++i]);
    }
    if (s.figures !== false && !opts.figureFlags.includes(flag)) opts.figureFlags.push(flag);
  }
  return opts;
}

/** The script's opening comment block (up to the first blank line), as --help prints it. */
export function helpText(moduleUrl) {
  const head = fs.readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n\n')[0];
  return `${head.replace(/^\/\/ ?/gm, '')}\n`;
}

/**
 * Where a report goes: --out when given; else the checked-in `published` file for a run with the default
 * options only, and bench/out/ (git-ignored) for any other run, so a short or partial run never overwrites a
 * published figure by accident.
 */
export function reportPath(opts, published) {
  if (opts.out) return opts.out;
  return opts.figureFlags.length ? path.join(OUT_DIR, path.basename(published)) : published;
}

/**
 * parseOptions() of the command line, for the top level of the script at `moduleUrl` (its import.meta.url): bad
 * usage prints the message and exits 2 before anything starts, and --help prints the script's opening comment and
 * exits 0.
 */
export function parseOptionsOrExit(moduleUrl, spec) {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2), spec);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${path.basename(fileURLToPath(moduleUrl), '.js')}: ${err.message}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(helpText(moduleUrl));
    process.exit(0);
  }
  return opts;
}
