import { isIP } from 'node:net';
import * as v from 'valibot';
import { int, oneOf, type Problem, section, text } from '../util/validators.js';

/**
 * The `node:` section: what ballast does to the node's network (docs/design.md §3), and where it finds the cluster
 * zone's upstream. Everything that touches the node is off by default, so `npm start` needs no root.
 */
export const DEFAULT_INTERFACE_NAME = 'nodelocaldns';
export const DEFAULT_INSTANCE_DIR = '/run/ballast';
/** NodeLocal DNSCache re-checks its rules every 60 s. */
export const DEFAULT_RESYNC_SECONDS = 60;
/** The Service NodeLocal DNSCache forwards the cluster zone to; ballast reads the same one. */
export const DEFAULT_UPSTREAM_SERVICE = 'kube-dns-upstream';
/** The zones NodeLocal DNSCache sends to the cluster DNS: the cluster domain and both reverse trees. */
export const DEFAULT_CLUSTER_ZONES: readonly string[] = ['cluster.local', 'in-addr.arpa', 'ip6.arpa'];
/** DNS is served on this port on every local IP; the iptables rules name it. */
export const DNS_PORT = 53;

/** A host address as `ip addr` and iptables take it: no port, no zone index, no IPv4-mapped form. */
export function isLocalIp(value: string): boolean {
  const family = isIP(value);
  if (family === 4) return true;
  return family === 6 && !value.includes('%') && !value.includes('.');
}

/** Canonical text of a local IP (RFC 5952 for IPv6), as `ip -j addr` and `iptables -S` print it. */
export function canonicalIp(value: string): string {
  return isIP(value) === 6 && isLocalIp(value) ? new URL(`http://[${value}]/`).hostname.slice(1, -1) : value;
}

/** Whether a listen address ("IP:PORT", "[IPv6]:PORT") is on one of the node-local IPs ballast manages. */
export function isLocalAddress(localIps: readonly string[], address: string): boolean {
  const host = address.startsWith('[')
    ? address.slice(1, address.indexOf(']'))
    : address.slice(0, address.lastIndexOf(':'));
  if (!isLocalIp(host)) return false;
  const canonical = canonicalIp(host);
  return localIps.some((ip) => canonicalIp(ip) === canonical);
}

/** The listen address that serves DNS on a local IP: `IP:53`, or `[IPv6]:53`. */
export function localIpListen(ip: string): string {
  return isIP(ip) === 6 ? `[${canonicalIp(ip)}]:${DNS_PORT}` : `${ip}:${DNS_PORT}`;
}

const LOCAL_IP_MESSAGE = 'expected an IPv4 or IPv6 address, without port or zone';
const localIp = v.pipe(v.string(LOCAL_IP_MESSAGE), v.check(isLocalIp, LOCAL_IP_MESSAGE));

const ZONE_MESSAGE = 'expected a DNS zone name such as cluster.local';
const IFNAME_MESSAGE = 'expected a Linux interface name: 1–15 letters, digits, "_", "-" or "."';
const SERVICE_MESSAGE = 'expected a Service name (RFC 1035 label) or ""';

const zoneName = v.pipe(
  v.string(ZONE_MESSAGE),
  v.transform((s) => s.toLowerCase().replace(/\.$/, '')),
  v.check((s) => /^([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/.test(s), ZONE_MESSAGE),
);

export const nodeSchema = section({
  /** Node-local addresses: put on the interface, named in the iptables rules; ballast serves port 53 on each. */
  localIps: v.optional(
    v.pipe(
      v.array(localIp, 'expected a list'),
      v.check((ips) => new Set(ips.map(canonicalIp)).size === ips.length, 'lists an address twice'),
    ),
    () => [],
  ),
  /** Create `interfaceName` and keep `localIps` on it (needs CAP_NET_ADMIN). */
  setupInterface: v.optional(v.boolean('expected true or false'), false),
  /** Keep NodeLocal DNSCache's NOTRACK/ACCEPT rules for `localIps` (needs CAP_NET_ADMIN). */
  setupIptables: v.optional(v.boolean('expected true or false'), false),
  /** Interface that carries `localIps`; 15 characters at most (IFNAMSIZ). */
  interfaceName: v.optional(
    v.pipe(v.string(IFNAME_MESSAGE), v.regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/, IFNAME_MESSAGE)),
    DEFAULT_INTERFACE_NAME,
  ),
  /** Link type created when the interface is missing; `dummy` as NodeLocal, others for kernels without it. */
  interfaceKind: v.optional(oneOf(['dummy', 'bridge', 'ifb']), 'dummy'),
  /** iptables backend: `auto` follows the rules already on the host, as kube-proxy's iptables-wrapper does. */
  iptablesMode: v.optional(oneOf(['auto', 'nft', 'legacy']), 'auto'),
  /** How often the interface, addresses and rules are re-checked, and re-added when missing. */
  resyncSeconds: v.optional(int(1, 3600), DEFAULT_RESYNC_SECONDS),
  /** Leave interface, addresses and rules in place at exit (NodeLocal's `-skipteardown`). */
  skipTeardown: v.optional(v.boolean('expected true or false'), false),
  /** Shared by every ballast on the node (a hostPath): each instance registers here, for the handover check. */
  instanceDir: v.optional(text(), DEFAULT_INSTANCE_DIR),
  /** Service whose `*_SERVICE_HOST`/`*_SERVICE_PORT` variables give the cluster zones' upstream; "" disables. */
  upstreamService: v.optional(
    v.pipe(v.string(SERVICE_MESSAGE), v.regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/, SERVICE_MESSAGE)),
    DEFAULT_UPSTREAM_SERVICE,
  ),
  /** Zones sent to that Service over TCP, unless `zones` already names them. */
  clusterZones: v.optional(v.array(zoneName, 'expected a list'), () => [...DEFAULT_CLUSTER_ZONES]),
});

/** The `node:` section as written. */
export type NodeConfigInput = v.InferInput<typeof nodeSchema>;
/** The `node:` section with every default filled in. */
export type NodeConfig = v.InferOutput<typeof nodeSchema>;

/**
 * Cross-section checks: the NOTRACK rules send a local IP's port-53 traffic straight to a socket, so a local IP
 * nobody listens on would black-hole DNS (kubernetes/dns#438). Each local IP needs a `listen` address serving
 * port 53 on it (the IP itself, or the wildcard of its family), and setting anything up needs a local IP.
 */
export function checkNodeConfig(node: NodeConfig, listen: readonly string[]): Problem[] {
  const issues: Problem[] = [];
  const served = new Set(listen.flatMap((l) => listenedHost(l) ?? []));
  node.localIps.forEach((ip, i) => {
    if (!isLocalIp(ip)) return; // already reported by the schema
    const wildcard = isIP(ip) === 6 ? '::' : '0.0.0.0';
    if (!served.has(canonicalIp(ip)) && !served.has(wildcard)) {
      issues.push({
        path: ['node', 'localIps', i],
        input: ip,
        message: `no listen address serves it on port 53; add "${localIpListen(ip)}" to listen (--local-ip does both)`,
      });
    }
  });
  for (const key of ['setupInterface', 'setupIptables'] as const) {
    if (node[key] && node.localIps.length === 0) {
      issues.push({ path: ['node', key], input: true, message: 'needs at least one node.localIps entry' });
    }
  }
  return issues;
}

/** The canonical host of a listen address on port 53 (`IP:53` or `[IPv6]:53`), else undefined. */
function listenedHost(listen: string): string | undefined {
  const m = /^\[([^\]%]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  if (!m || Number(m[2]) !== DNS_PORT || !isLocalIp(m[1])) return undefined;
  return canonicalIp(m[1]);
}
