import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { Ballast } from './ballast.js';
import { type Config, loadConfig, watchConfigFile } from './config/index.js';
import { ConfigError } from './errors.js';
import { createLogger } from './observe/index.js';

/** Exit status for a bad command line or configuration. */
export const EXIT_USAGE = 2;

const HELP = `ballast — a node-local DNS cache that keeps answering when the control plane does not

Usage:
  ballast serve [options]
  ballast --help | --version

Options for serve (flags override the config file):
  --listen HOST:PORT        serve DNS on UDP and TCP (repeatable; IPv6 as [::1]:5353) [127.0.0.1:5353]
  --upstream HOST:PORT      upstream for the root zone (repeatable) [nameservers of /etc/resolv.conf, port 53]
  --zone ZONE=HOST:PORT[,HOST:PORT...]
                            upstreams for one zone (repeatable; longest suffix wins)
  --admin HOST:PORT         HTTP for /metrics, /health, /ready [127.0.0.1:9253]
  --config FILE             YAML file with any setting (see docs/configuration.md)
  --log-level LEVEL         fatal|error|warn|info|debug|trace|silent [info]
  --snapshot PATH           cache snapshot file [/var/lib/ballast/cache.snapshot]
  --snapshot-interval SECONDS
                            how often the snapshot is written [60]
  -h, --help                show this help
  -v, --version             print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Entry point: returns the process exit status (or never, while serving). */
export async function main(argv: string[]): Promise<number | undefined> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`ballast: ${(err as Error).message}\n\n${HELP}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`ballast ${version()}\n`);
    return 0;
  }
  const command = positionals[0];
  if (command !== 'serve' || positionals.length > 1) {
    process.stderr.write(
      `ballast: expected the command "serve"${command ? `, got ${JSON.stringify(command)}` : ''}\n\n${HELP}`,
    );
    return EXIT_USAGE;
  }
  return serve(values);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      listen: { type: 'string', multiple: true },
      upstream: { type: 'string', multiple: true },
      zone: { type: 'string', multiple: true },
      admin: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      snapshot: { type: 'string' },
      'snapshot-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

async function serve(values: ReturnType<typeof parse>['values']): Promise<number | undefined> {
  const file = values.config;
  const flags = {
    listen: values.listen,
    upstream: values.upstream,
    zone: values.zone,
    admin: values.admin,
    logLevel: values['log-level'],
    snapshot: values.snapshot,
    snapshotInterval: values['snapshot-interval'],
  };
  let ballast: Ballast;
  let log: Logger;
  try {
    const config = loadConfig(file, flags);
    log = createLogger(config.log.level);
    ballast = new Ballast(config, { log });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ballast: ${err.message}\n`);
    return EXIT_USAGE;
  }
  try {
    await ballast.start();
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    await ballast.close();
    log.flush();
    return 1;
  }

  // Hot reload (DESIGN.md §7): SIGHUP, or the config file's content changing. One reload at a time; a bad file is
  // rejected with the key named, and the running config stays.
  let reloading = Promise.resolve();
  const reload = (trigger: string) => {
    reloading = reloading.then(async () => {
      let next: Config;
      try {
        next = loadConfig(file, flags);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        ballast.rejectReload(err.message);
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
