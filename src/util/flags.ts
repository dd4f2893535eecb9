import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

/**
 * One command-line flag, declared once: the parser's option, the help line and (in the table that holds it) what it
 * sets all come from this declaration, so the four can never drift apart.
 */
export interface FlagSpec {
  /** Long name, without the dashes. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder for the value in help ("HOST:PORT"); a flag without one is a switch. */
  readonly value?: string;
  readonly multiple?: boolean;
  /** One sentence for --help. */
  readonly help: string;
  /** The default as help shows it. */
  readonly default?: string;
}

export type FlagValues = { readonly [name: string]: string | string[] | boolean | undefined };

/** `--name VALUE` as it appears in help and in the README's flag table. */
export function flagUsage(f: FlagSpec): string {
  return f.value === undefined ? `--${f.name}` : `--${f.name} ${f.value}`;
}

/** The flags as aligned help lines, each with its default in brackets. */
export function flagHelp(flags: readonly FlagSpec[]): string {
  const width = 26;
  return flags
    .map((f) => {
      const usage = `${f.short === undefined ? '' : `-${f.short}, `}${flagUsage(f)}`;
      const text = `${f.help}${f.default === undefined ? '' : ` [${f.default}]`}`;
      return usage.length < width ? `  ${usage.padEnd(width)}${text}` : `  ${usage}\n  ${' '.repeat(width)}${text}`;
    })
    .join('\n');
}

/**
 * Parses `argv` against a flag table. An unknown flag or a missing value is a UsageError of one line that names what
 * is allowed; `command` prefixes it ("ballast serve").
 */
export function parseFlags(
  flags: readonly FlagSpec[],
  argv: readonly string[],
  command: string,
): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of flags) {
    const option: (typeof options)[string] = { type: f.value === undefined ? 'boolean' : 'string' };
    if (f.multiple) option.multiple = true;
    if (f.short !== undefined) option.short = f.short;
    options[f.name] = option;
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { values: values as FlagValues, positionals };
  } catch (err) {
    const message = (err as Error).message;
    const allowed = flags.map((f) => `--${f.name}`).join(', ');
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown !== undefined) {
      throw new UsageError(`${command}: unknown flag ${unknown}; allowed: ${allowed}`);
    }
    const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message)?.[1];
    if (missing !== undefined) throw new UsageError(`${command}: ${missing} needs a value (see ${command} --help)`);
    const strayValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message)?.[1];
    if (strayValue !== undefined) throw new UsageError(`${command}: ${strayValue} takes no value`);
    throw new UsageError(`${command}: ${message.split('\n')[0]}`);
  }
}
