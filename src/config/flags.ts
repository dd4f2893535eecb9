import { ConfigError } from '../errors.js';
import { isLocalIp, localIpListen } from '../node/config.js';
import type { FlagSpec, FlagValues } from '../util/flags.js';

export type { FlagValues } from '../util/flags.js';

import { DEFAULT_ADMIN, DEFAULT_LISTEN, DEFAULT_SNAPSHOT_RULE } from './schema.js';

/** The settings object a flag writes into, before validation (YAML shape). */
type Raw = Record<string, unknown>;

/** A flag of `ballast serve`: its help and what it sets in the config (the same key path a YAML file uses). */
export interface ServeFlag extends FlagSpec {
  /** The key path the flag sets, for the docs and for error messages. */
  readonly key?: string;
  /** Writes the flag's value into the settings; absent for flags that are not settings (--config, --help). */
  readonly apply?: (raw: Raw, value: never) => void;
}

/** A copy of `raw[key]` as an object, put back in place, so a flag never mutates the parsed file. */
function section(raw: Raw, key: string): Raw {
  const v = raw[key];
  const copy = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Raw) } : {};
  raw[key] = copy;
  return copy;
}

const set =
  (path: string) =>
  (raw: Raw, value: unknown): void => {
    const keys = path.split('.');
    let at = raw;
    for (const k of keys.slice(0, -1)) at = section(at, k);
    at[keys[keys.length - 1]] = value;
  };

/** --zone NAME=HOST:PORT[,…]: merged into the file's zone of the same name (servers replaced), or appended. */
function applyZones(raw: Raw, specs: string[]): void {
  const zones = Array.isArray(raw.zones) ? [...(raw.zones as unknown[])] : [];
  const norm = (n: unknown) => String(n).toLowerCase().replace(/\.$/, '');
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--zone ${JSON.stringify(spec)}: expected ZONE=HOST:PORT[,HOST:PORT...]`);
    const name = spec.slice(0, eq);
    const servers = spec
      .slice(eq + 1)
      .split(',')
      .filter(Boolean);
    const i = zones.findIndex((z) => typeof z === 'object' && z !== null && norm((z as Raw).name) === norm(name));
    const zone = { ...(i === -1 ? {} : (zones[i] as object)), name, servers };
    if (i === -1) zones.push(zone);
    else zones[i] = zone;
  }
  raw.zones = zones;
}

/**
 * --local-ip: node.localIps, and each IP served on port 53 next to the listen addresses given explicitly (file or
 * --listen); the built-in loopback default is dropped. A bad IP is reported once, under node.localIps.
 */
function applyLocalIps(raw: Raw, ips: string[]): void {
  section(raw, 'node').localIps = ips;
  const served = ips.filter(isLocalIp).map(localIpListen);
  const explicit = Array.isArray(raw.listen) ? (raw.listen as unknown[]) : [];
  if (served.length > 0) raw.listen = [...new Set([...explicit, ...served])];
}

/** A number where the text is one, so the schema reports a type error with the text the user typed otherwise. */
const numeric = (v: string): unknown => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/**
 * Every flag of `ballast serve`, in help order. Flags override the file's value at the same key path; the README's
 * flag table lists exactly these (a test checks it).
 */
export const SERVE_FLAGS: readonly ServeFlag[] = [
  {
    name: 'listen',
    value: 'HOST:PORT',
    multiple: true,
    help: 'serve DNS on UDP and TCP (repeatable; IPv6 as [::1]:5353)',
    default: DEFAULT_LISTEN,
    key: 'listen',
    apply: (raw, v: string[]) => {
      raw.listen = v;
    },
  },
  {
    name: 'upstream',
    value: 'HOST:PORT',
    multiple: true,
    help: 'upstream for the root zone (repeatable)',
    default: 'nameservers of /etc/resolv.conf, port 53',
    key: 'upstream.servers',
    apply: set('upstream.servers'),
  },
  {
    name: 'zone',
    value: 'ZONE=HOST:PORT[,HOST:PORT...]',
    multiple: true,
    help: 'upstreams for one zone (repeatable; longest suffix wins)',
    key: 'zones',
    apply: applyZones,
  },
  {
    name: 'admin',
    value: 'HOST:PORT',
    help: 'HTTP for /metrics, /health, /ready',
    default: DEFAULT_ADMIN,
    key: 'admin.listen',
    apply: set('admin.listen'),
  },
  { name: 'config', value: 'FILE', help: 'YAML file with any setting; flags override it (docs/configuration.md)' },
  {
    name: 'log-level',
    value: 'LEVEL',
    help: 'fatal|error|warn|info|debug|trace|silent',
    default: 'info',
    key: 'log.level',
    apply: set('log.level'),
  },
  {
    name: 'snapshot',
    value: 'PATH',
    help: 'cache snapshot file: the cache survives restarts',
    default: DEFAULT_SNAPSHOT_RULE,
    key: 'persistence.path',
    apply: set('persistence.path'),
  },
  {
    name: 'snapshot-interval',
    value: 'SECONDS',
    help: 'how often the snapshot is written',
    default: '60',
    key: 'persistence.intervalSeconds',
    apply: (raw, v: string) => set('persistence.intervalSeconds')(raw, numeric(v)),
  },
  {
    name: 'local-ip',
    value: 'IP',
    multiple: true,
    help: 'serve DNS on IP port 53 (UDP and TCP) and manage IP on the node (repeatable)',
    key: 'node.localIps',
    apply: applyLocalIps,
  },
  {
    name: 'setup-interface',
    help: 'create the interface and put the local IPs on it (CAP_NET_ADMIN)',
    key: 'node.setupInterface',
    apply: set('node.setupInterface'),
  },
  {
    name: 'setup-iptables',
    help: "keep NodeLocal DNSCache's NOTRACK/ACCEPT rules for the local IPs (CAP_NET_ADMIN)",
    key: 'node.setupIptables',
    apply: set('node.setupIptables'),
  },
  {
    name: 'interface-name',
    value: 'NAME',
    help: 'interface that carries the local IPs',
    default: 'nodelocaldns',
    key: 'node.interfaceName',
    apply: set('node.interfaceName'),
  },
  {
    name: 'skip-teardown',
    help: 'leave interface, addresses and rules in place at exit',
    key: 'node.skipTeardown',
    apply: set('node.skipTeardown'),
  },
  { name: 'help', short: 'h', help: 'show this help' },
  { name: 'version', short: 'v', help: 'print the version' },
];

/** Writes every flag that was given into a copy of the file's settings, in table order. */
export function applyFlags(raw: Raw, values: FlagValues): Raw {
  const out: Raw = { ...raw };
  for (const f of SERVE_FLAGS) {
    const v = values[f.name];
    if (f.apply === undefined || v === undefined || v === false || (Array.isArray(v) && v.length === 0)) continue;
    f.apply(out, v as never);
  }
  return out;
}
