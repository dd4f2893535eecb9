import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Ballast } from './ballast.js';
import { type Config, type FlagValues, loadConfig, SERVE_FLAGS, watchConfigFile } from './config/index.js';
import { drillCommand } from './drill/index.js';
import { ConfigError, UsageError } from './errors.js';
import { withClusterUpstream } from './node/index.js';
import { createLogger } from './observe/index.js';
import { flagHelp, parseFlags } from './util/flags.js';

/** Exit status for a bad command line or configuration. */
export const EXIT_USAGE = 2;

const COMMANDS = ['serve', 'drill'] as const;

export const HELP = `ballast — a node-local DNS cache that keeps answering when the control plane does not

Usage:
  ballast serve [options]
  ballast drill --target HOST:PORT [options]      (ballast drill --help; docs/drills.md)
  ballast --help | --version

Options for serve (flags override the config file):
${flagHelp(SERVE_FLAGS)}
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Entry point: returns the process exit status (or never, while serving). */
export async function main(argv: string[]): Promise<number | undefined> {
  const command = argv[0];
  if (command === 'drill') return drillCommand(argv.slice(1));
  let values: FlagValues;
  try {
    const parsed = parseFlags(SERVE_FLAGS, argv, command === 'serve' ? 'ballast serve' : 'ballast');
    values = parsed.values;
    if (!values.help && !values.version) {
      const [first, ...rest] = parsed.positionals;
      if (first !== 'serve') {
        const got = first === undefined ? 'no command' : `unknown command ${JSON.stringify(first)}`;
        throw new UsageError(`ballast: ${got}; expected ${COMMANDS.join(' or ')} (ballast --help)`);
      }
      if (rest.length > 0) throw new UsageError(`ballast serve: unexpected argument ${JSON.stringify(rest[0])}`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`ballast ${version()}\n`);
    return 0;
  }
  return serve(values);
}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'another program is using it',
  EACCES: 'permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
};

/**
 * A start that failed because an address could not be bound: the sentence for it, naming the address and the flag
 * that sets it; undefined for any other failure.
 */
export function listenProblem(err: unknown, config: Config): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const why = e?.code === undefined ? undefined : LISTEN_PROBLEMS[e.code];
  if (why === undefined || e.address === undefined || e.port === undefined) return undefined;
  const address = e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
  const flag =
    config.admin.listen === address
      ? '--admin HOST:PORT (admin.listen)'
      : config.node.localIps.includes(e.address)
        ? '--local-ip IP (node.localIps)'
        : '--listen HOST:PORT (listen)';
  return `cannot listen on ${address}: ${why}; choose another address with ${flag}`;
}

/** `ballast serve`: runs until SIGTERM or SIGINT; SIGHUP or a changed config file reloads. */
async function serve(flags: FlagValues): Promise<number> {
  const file = flags.config as string | undefined;
  // The cluster zones' upstream comes from the kube-dns-upstream Service's variables (docs/node-networking.md).
  const load = () => withClusterUpstream(loadConfig(file, flags), process.env);
  let ballast: Ballast;
  let log: Logger;
  let config: Config;
  try {
    const loaded = load();
    config = loaded.config;
    const { discovery } = loaded;
    log = createLogger(config.log.level);
    if (discovery.problem !== undefined) log.warn({ problem: discovery.problem }, 'cluster upstream not discovered');
    else if (discovery.server !== undefined) {
      log.info({ server: discovery.server, zones: discovery.zones.map((z) => z.name) }, 'cluster upstream discovered');
    }
    ballast = new Ballast(config, { log });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ballast: ${err.message}\n`);
    return EXIT_USAGE;
  }
  try {
    await ballast.start();
  } catch (err) {
    await ballast.destroy();
    const problem = listenProblem(err, config);
    if (problem !== undefined) {
      // An address taken or not allowed: the user's to change, named in one line, like a bad flag.
      process.stderr.write(`ballast: ${problem}\n`);
      return EXIT_USAGE;
    }
    log.fatal({ err }, 'cannot start');
    log.flush();
    return 1;
  }

  // Hot reload (docs/design.md §7), one at a time: a bad file is rejected with the key named and the running config
  // stays.
  let reloading = Promise.resolve();
  const reload = (trigger: string) => {
    reloading = reloading.then(async () => {
      let next: Config;
      try {
        next = load().config;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        ballast.report.rejected(err.message);
        return;
      }
      log.info({ trigger }, 'reloading config');
      await ballast.reload(next).catch(() => {});
    });
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const watcher = file === undefined ? undefined : watchConfigFile(file, () => reload('file changed'));

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  watcher?.close();
  process.off('SIGHUP', onHup);
  // SIGTERM is a rollout or eviction: keep serving for the drain period. SIGINT is a person at a terminal.
  await ballast.close({ drainPeriod: signal === 'SIGTERM' });
  log.info('stopped');
  log.flush();
  return 0;
}
