import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { Ballast } from './ballast.js';
import { type DrillOptions, FAULT_KINDS, runDrill, table } from './chaos/index.js';
import { type Config, loadConfig, parseEndpoint, watchConfigFile } from './config/index.js';
import { ConfigError } from './errors.js';
import { withClusterUpstream } from './node/index.js';
import { createLogger } from './observe/index.js';

/** Exit status for a bad command line or configuration. */
export const EXIT_USAGE = 2;

const HELP = `ballast — a node-local DNS cache that keeps answering when the control plane does not

Usage:
  ballast serve [options]
  ballast drill --target HOST:PORT [options]      (see docs/drills.md)
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
  --local-ip IP             serve DNS on IP port 53 (UDP and TCP) and manage IP on the node (repeatable)
  --setup-interface         create the interface and put the local IPs on it (CAP_NET_ADMIN)
  --setup-iptables          keep NodeLocal DNSCache's NOTRACK/ACCEPT rules for the local IPs (CAP_NET_ADMIN)
  --interface-name NAME     interface that carries the local IPs [nodelocaldns]
  --skip-teardown           leave interface, addresses and rules in place at exit
  -h, --help                show this help
  -v, --version             print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Entry point: returns the process exit status (or never, while serving). */
export async function main(argv: string[]): Promise<number | undefined> {
  // `drill` has its own flags.
  if (argv[0] === 'drill') return drill(argv.slice(1));
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

const DRILL_HELP = `ballast drill: rehearse an upstream outage against a resolver (docs/drills.md)

  --target HOST:PORT        resolver to load (required)
  --admin HOST:PORT         the target's admin port: fault control, upstream rate, names
  --fault KIND              blackhole | servfail | refused | delay | drop [blackhole]
  --fault-zone ZONE         only this zone's upstream traffic
  --fault-upstream HOST:PORT  only this upstream
  --delay-ms N              for --fault delay
  --drop-percent N          for --fault drop
  --warm DURATION           [20s]      --fault-for DURATION [60s]      --recover DURATION [20s]
  --rate N                  queries per second [200]
  --protocol udp|tcp        [udp]
  --timeout DURATION        per query [2s]
  --names FILE              "name [type]" per line; default: names cached by the target (needs --admin)
  --external                inject nothing; the operator or Chaos Mesh breaks the upstream
  --slo-answered PERCENT    exit 1 when any phase answers less (e.g. 99.9)
  --slo-p99 DURATION        exit 1 when any phase's p99 latency is higher
  --json                    print the result as JSON on stdout
  --report FILE             write a self-contained HTML report with a timeline chart
  --token-file FILE         bearer token for a target whose admin port is not loopback-only
Exit status: 0 all SLO gates passed, 1 an SLO was missed, 2 bad usage or the drill could not run.
`;

/** "20s", "2m", "500ms", or a plain number of seconds → milliseconds. */
function duration(flag: string, v: string | undefined, dflt: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v ?? dflt);
  if (m === null) throw new Error(`--${flag}: got ${JSON.stringify(v)}; expected a duration such as 20s, 2m or 500ms`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

function count(flag: string, v: string | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new Error(`--${flag}: got ${JSON.stringify(v)}; expected a number in (0, ${max}]`);
  return n;
}

async function drill(argv: string[]): Promise<number> {
  let opts: DrillOptions;
  try {
    const { values: v } = parseArgs({
      args: argv,
      strict: true,
      options: {
        target: { type: 'string' },
        admin: { type: 'string' },
        fault: { type: 'string' },
        'fault-zone': { type: 'string' },
        'fault-upstream': { type: 'string' },
        'delay-ms': { type: 'string' },
        'drop-percent': { type: 'string' },
        warm: { type: 'string' },
        'fault-for': { type: 'string' },
        recover: { type: 'string' },
        rate: { type: 'string' },
        protocol: { type: 'string' },
        timeout: { type: 'string' },
        names: { type: 'string' },
        external: { type: 'boolean' },
        'slo-answered': { type: 'string' },
        'slo-p99': { type: 'string' },
        json: { type: 'boolean' },
        report: { type: 'string' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (v.help) {
      process.stdout.write(DRILL_HELP);
      return 0;
    }
    const target = v.target === undefined ? undefined : parseEndpoint(v.target);
    if (target === undefined) throw new Error(`--target: got ${JSON.stringify(v.target)}; expected IP:PORT`);
    const admin = v.admin === undefined ? undefined : parseEndpoint(v.admin);
    if (v.admin !== undefined && admin === undefined)
      throw new Error(`--admin: got ${JSON.stringify(v.admin)}; expected IP:PORT`);
    const kind = v.fault ?? 'blackhole';
    if (!(FAULT_KINDS as readonly string[]).includes(kind))
      throw new Error(`--fault: got ${JSON.stringify(kind)}; expected ${FAULT_KINDS.join(' | ')}`);
    if (v.protocol !== undefined && v.protocol !== 'udp' && v.protocol !== 'tcp')
      throw new Error(`--protocol: got ${JSON.stringify(v.protocol)}; expected udp | tcp`);
    opts = {
      target,
      admin,
      fault: {
        kind,
        zone: v['fault-zone'],
        upstream: v['fault-upstream'],
        delayMs: kind === 'delay' ? count('delay-ms', v['delay-ms'], 500, 60_000) : undefined,
        percent: kind === 'drop' ? count('drop-percent', v['drop-percent'], 50, 100) : undefined,
      },
      warmSeconds: Math.round(duration('warm', v.warm, '20s') / 1000),
      faultSeconds: Math.round(duration('fault-for', v['fault-for'], '60s') / 1000),
      recoverSeconds: Math.round(duration('recover', v.recover, '20s') / 1000),
      rate: count('rate', v.rate, 200, 100_000),
      protocol: (v.protocol ?? 'udp') as 'udp' | 'tcp',
      timeoutMs: duration('timeout', v.timeout, '2s'),
      namesFile: v.names,
      external: v.external === true,
      sloAnsweredPct: v['slo-answered'] === undefined ? undefined : count('slo-answered', v['slo-answered'], 0, 100),
      sloP99Ms: v['slo-p99'] === undefined ? undefined : duration('slo-p99', v['slo-p99'], '0ms'),
      json: v.json === true,
      reportFile: v.report,
      tokenFile: v['token-file'],
      out: (line) => process.stderr.write(`${line}\n`),
    };
  } catch (err) {
    process.stderr.write(`ballast drill: ${(err as Error).message}\n\n${DRILL_HELP}`);
    return EXIT_USAGE;
  }
  let result: Awaited<ReturnType<typeof runDrill>>;
  try {
    result = await runDrill(opts);
  } catch (err) {
    process.stderr.write(`ballast drill: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ phases: result.summaries, sloMisses: result.sloMisses, seconds: result.seconds.map(({ latenciesMs, ...s }) => s) })}\n`,
    );
  } else {
    process.stdout.write(`\n${table(result.summaries)}\n\n`);
    process.stdout.write(
      result.sloMisses.length === 0 ? 'SLO: all gates passed\n' : `SLO MISSED: ${result.sloMisses.join('; ')}\n`,
    );
    if (opts.reportFile !== undefined) process.stdout.write(`report: ${opts.reportFile}\n`);
  }
  return result.sloMisses.length === 0 ? 0 : 1;
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
      'local-ip': { type: 'string', multiple: true },
      'setup-interface': { type: 'boolean' },
      'setup-iptables': { type: 'boolean' },
      'interface-name': { type: 'string' },
      'skip-teardown': { type: 'boolean' },
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
    localIp: values['local-ip'],
    setupInterface: values['setup-interface'],
    setupIptables: values['setup-iptables'],
    interfaceName: values['interface-name'],
    skipTeardown: values['skip-teardown'],
  };
  let ballast: Ballast;
  let log: Logger;
  try {
    // The cluster zones' upstream from the kube-dns-upstream Service's variables (docs/node-networking.md).
    const { config, discovery } = withClusterUpstream(loadConfig(file, flags), process.env);
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
    log.fatal({ err }, 'cannot start');
    await ballast.close();
    log.flush();
    return 1;
  }

  // Hot reload (docs/design.md §7): SIGHUP, or the config file's content changing. One reload at a time; a bad file is
  // rejected with the key named, and the running config stays.
  let reloading = Promise.resolve();
  const reload = (trigger: string) => {
    reloading = reloading.then(async () => {
      let next: Config;
      try {
        next = withClusterUpstream(loadConfig(file, flags), process.env).config;
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
