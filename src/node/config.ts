import { isIP } from 'node:net';
import { z } from 'zod';

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

const int = () => z.number().int();

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

const localIp = z.string().refine(isLocalIp, { message: 'expected an IPv4 or IPv6 address, without port or zone' });

const zoneName = z
  .string()
  .transform((v) => v.toLowerCase().replace(/\.$/, ''))
  .refine((v) => /^([a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}$/.test(v), {
    message: 'expected a DNS zone name such as cluster.local',
  });

export const nodeSchema = z
  .strictObject({
    /** Node-local addresses: put on the interface, named in the iptables rules; ballast serves port 53 on each. */
    localIps: z
      .array(localIp)
      .default([])
      .refine((ips) => new Set(ips.map(canonicalIp)).size === ips.length, { message: 'lists an address twice' }),
    /** Create `interfaceName` and keep `localIps` on it (needs CAP_NET_ADMIN). */
    setupInterface: z.boolean().default(false),
    /** Keep NodeLocal DNSCache's NOTRACK/ACCEPT rules for `localIps` (needs CAP_NET_ADMIN). */
    setupIptables: z.boolean().default(false),
    /** Interface that carries `localIps`; 15 characters at most (IFNAMSIZ). */
    interfaceName: z
      .string()
      .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$/, {
        message: 'expected a Linux interface name: 1–15 letters, digits, "_", "-" or "."',
      })
      .default(DEFAULT_INTERFACE_NAME),
    /** Link type created when the interface is missing; `dummy` as NodeLocal, others for kernels without it. */
    interfaceKind: z.enum(['dummy', 'bridge', 'ifb']).default('dummy'),
    /** iptables backend: `auto` follows the rules already on the host, as kube-proxy's iptables-wrapper does. */
    iptablesMode: z.enum(['auto', 'nft', 'legacy']).default('auto'),
    /** How often the interface, addresses and rules are re-checked, and re-added when missing. */
    resyncSeconds: int().min(1).max(3600).default(DEFAULT_RESYNC_SECONDS),
    /** Leave interface, addresses and rules in place at exit (NodeLocal's `-skipteardown`). */
    skipTeardown: z.boolean().default(false),
    /** Shared by every ballast on the node (a hostPath): each instance registers here, for the handover check. */
    instanceDir: z.string().min(1).default(DEFAULT_INSTANCE_DIR),
    /** Service whose `*_SERVICE_HOST`/`*_SERVICE_PORT` variables give the cluster zones' upstream; "" disables. */
    upstreamService: z
      .string()
      .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/, { message: 'expected a Service name (RFC 1035 label) or ""' })
      .default(DEFAULT_UPSTREAM_SERVICE),
    /** Zones sent to that Service over TCP, unless `zones` already names them. */
    clusterZones: z.array(zoneName).default([...DEFAULT_CLUSTER_ZONES]),
  })
  .prefault({});

/** The `node:` section as written. */
export type NodeConfigInput = z.input<typeof nodeSchema>;
/** The `node:` section with every default filled in. */
export type NodeConfig = z.output<typeof nodeSchema>;

/** A problem found by {@link checkNodeConfig}, for the config schema's superRefine. */
export interface NodeConfigIssue {
  readonly path: (string | number)[];
  readonly input: unknown;
  readonly message: string;
}

/**
 * Cross-section checks: the NOTRACK rules send a local IP's port-53 traffic straight to a socket, so a local IP
 * nobody listens on would black-hole DNS (kubernetes/dns#438). Each local IP needs a `listen` address serving
 * port 53 on it (the IP itself, or the wildcard of its family), and setting anything up needs a local IP.
 */
export function checkNodeConfig(node: NodeConfig, listen: readonly string[]): NodeConfigIssue[] {
  const issues: NodeConfigIssue[] = [];
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
