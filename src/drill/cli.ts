import { FAULT_KINDS } from '../chaos/index.js';
import { parseEndpoint } from '../config/index.js';
import { UsageError } from '../errors.js';
import { type FlagSpec, type FlagValues, flagHelp, parseFlags } from '../util/flags.js';
import type { DrillOptions } from './options.js';
import { runDrill } from './run.js';
import { table } from './summary.js';

/** The flags of `ballast drill`, declared once: parser, help and docs/drills.md's list all come from here. */
export const DRILL_FLAGS: readonly FlagSpec[] = [
  { name: 'target', value: 'HOST:PORT', help: 'resolver to load (required)' },
  { name: 'admin', value: 'HOST:PORT', help: "the target's admin port: fault control, upstream rate, names" },
  { name: 'fault', value: 'KIND', help: FAULT_KINDS.join(' | '), default: 'blackhole' },
  { name: 'fault-zone', value: 'ZONE', help: "only this zone's upstream traffic" },
  { name: 'fault-upstream', value: 'HOST:PORT', help: 'only this upstream' },
  { name: 'delay-ms', value: 'N', help: 'for --fault delay and slow', default: '500' },
  { name: 'spread-ms', value: 'N', help: 'for --fault slow: extra delay up to this, at random', default: '0' },
  { name: 'percent', value: 'N', help: 'for --fault drop, lame, loss and mixed', default: '50' },
  { name: 'drop-percent', value: 'N', help: 'the same as --percent (kept for old scripts)' },
  { name: 'concurrency', value: 'N', help: 'for --fault overload: REFUSED above this many in flight', default: '10' },
  { name: 'warm', value: 'DURATION', help: 'load before the fault', default: '20s' },
  { name: 'fault-for', value: 'DURATION', help: 'how long the fault lasts', default: '60s' },
  { name: 'recover', value: 'DURATION', help: 'load after the fault', default: '20s' },
  { name: 'rate', value: 'N', help: 'queries per second', default: '200' },
  { name: 'protocol', value: 'udp|tcp', help: 'transport of the queries', default: 'udp' },
  { name: 'timeout', value: 'DURATION', help: 'per query', default: '2s' },
  { name: 'names', value: 'FILE', help: '"name [type]" per line; default: names cached by the target (needs --admin)' },
  { name: 'external', help: 'inject nothing; the operator or Chaos Mesh breaks the upstream' },
  { name: 'slo-answered', value: 'PERCENT', help: 'exit 1 when any phase answers less (e.g. 99.9)' },
  { name: 'slo-p99', value: 'DURATION', help: "exit 1 when any phase's p99 latency is higher" },
  { name: 'json', help: 'print the result as JSON on stdout' },
  { name: 'report', value: 'FILE', help: 'write a self-contained HTML report with a timeline chart' },
  { name: 'token-file', value: 'FILE', help: "bearer token of the target's chaos endpoints (every fault needs it)" },
  { name: 'help', short: 'h', help: 'show this help' },
];

export const DRILL_HELP = `ballast drill: rehearse an upstream outage against a resolver (docs/drills.md)

Usage: ballast drill --target HOST:PORT [options]

${flagHelp(DRILL_FLAGS)}

Exit status: 0 all SLO gates passed, 1 an SLO was missed, 2 bad usage or the drill could not run.
`;

const str = (values: FlagValues, name: string) => values[name] as string | undefined;

/** "20s", "2m", "500ms", or a plain number of seconds → milliseconds. */
function duration(values: FlagValues, flag: string, dflt: string): number {
  const v = str(values, flag);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v ?? dflt);
  if (m === null)
    throw new UsageError(`--${flag}: got ${JSON.stringify(v)}; expected a duration such as 20s, 2m or 500ms`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

function count(values: FlagValues, flag: string, dflt: number, max: number, zeroOk = false): number {
  const v = str(values, flag);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk) || n > max)
    throw new UsageError(`--${flag}: got ${JSON.stringify(v)}; expected a number in ${zeroOk ? '[0' : '(0'}, ${max}]`);
  return n;
}

function endpoint(values: FlagValues, flag: string): { host: string; port: number } | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  const ep = parseEndpoint(v);
  if (ep === undefined) throw new UsageError(`--${flag}: got ${JSON.stringify(v)}; expected IP:PORT`);
  return ep;
}

/** Turns parsed flags into drill options; a UsageError names the flag, the value and what is allowed. */
export function drillOptions(values: FlagValues, out: (line: string) => void): DrillOptions {
  const target = endpoint(values, 'target');
  if (target === undefined) throw new UsageError('--target: missing; expected IP:PORT');
  const kind = str(values, 'fault') ?? 'blackhole';
  if (!(FAULT_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`--fault: got ${JSON.stringify(kind)}; expected ${FAULT_KINDS.join(' | ')}`);
  const protocol = str(values, 'protocol') ?? 'udp';
  if (protocol !== 'udp' && protocol !== 'tcp')
    throw new UsageError(`--protocol: got ${JSON.stringify(protocol)}; expected udp | tcp`);
  return {
    target,
    admin: endpoint(values, 'admin'),
    fault: {
      kind,
      zone: str(values, 'fault-zone'),
      upstream: str(values, 'fault-upstream'),
      delayMs: kind === 'delay' || kind === 'slow' ? count(values, 'delay-ms', 500, 60_000) : undefined,
      spreadMs: kind === 'slow' ? count(values, 'spread-ms', 0, 60_000, true) : undefined,
      percent: ['drop', 'lame', 'loss', 'mixed'].includes(kind)
        ? count(values, values.percent === undefined ? 'drop-percent' : 'percent', 50, 100)
        : undefined,
      concurrency: kind === 'overload' ? count(values, 'concurrency', 10, 100_000, true) : undefined,
    },
    warmSeconds: Math.round(duration(values, 'warm', '20s') / 1000),
    faultSeconds: Math.round(duration(values, 'fault-for', '60s') / 1000),
    recoverSeconds: Math.round(duration(values, 'recover', '20s') / 1000),
    rate: count(values, 'rate', 200, 100_000),
    protocol,
    timeoutMs: duration(values, 'timeout', '2s'),
    namesFile: str(values, 'names'),
    external: values.external === true,
    sloAnsweredPct: values['slo-answered'] === undefined ? undefined : count(values, 'slo-answered', 0, 100),
    sloP99Ms: values['slo-p99'] === undefined ? undefined : duration(values, 'slo-p99', '0ms'),
    json: values.json === true,
    reportFile: str(values, 'report'),
    tokenFile: str(values, 'token-file'),
    out,
  };
}

/** `ballast drill ARGS`: returns the exit status (0 passed, 1 SLO missed, 2 usage or could not run). */
export async function drillCommand(argv: readonly string[]): Promise<number> {
  let opts: DrillOptions;
  try {
    const { values, positionals } = parseFlags(DRILL_FLAGS, argv, 'ballast drill');
    if (values.help) {
      process.stdout.write(DRILL_HELP);
      return 0;
    }
    if (positionals.length > 0)
      throw new UsageError(`ballast drill: unexpected argument ${JSON.stringify(positionals[0])}; flags only`);
    opts = drillOptions(values, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const message = err.message.startsWith('ballast drill') ? err.message : `ballast drill: ${err.message}`;
    process.stderr.write(`${message}\n`);
    return 2;
  }
  let result: Awaited<ReturnType<typeof runDrill>>;
  try {
    result = await runDrill(opts);
  } catch (err) {
    process.stderr.write(`ballast drill: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts.json) {
    const seconds = result.seconds.map(({ latenciesMs, ...s }) => s);
    process.stdout.write(`${JSON.stringify({ phases: result.summaries, sloMisses: result.sloMisses, seconds })}\n`);
  } else {
    process.stdout.write(`\n${table(result.summaries)}\n\n`);
    process.stdout.write(
      result.sloMisses.length === 0 ? 'SLO: all gates passed\n' : `SLO MISSED: ${result.sloMisses.join('; ')}\n`,
    );
    if (opts.reportFile !== undefined) process.stdout.write(`report: ${opts.reportFile}\n`);
  }
  return result.sloMisses.length === 0 ? 0 : 1;
}
