import { isIP } from 'node:net';
import { canonicalIp } from './config.js';

/**
 * The cluster zones' upstream, found the way NodeLocal DNSCache finds it: kubelet gives every pod the variables
 * `<SERVICE>_SERVICE_HOST` and `<SERVICE>_SERVICE_PORT` for each Service in its namespace that existed when the
 * pod started, so the `kube-dns-upstream` Service (a second Service in front of CoreDNS, which kube-proxy keeps
 * DNATing when the kube-dns ClusterIP itself is served on the node) shows up as KUBE_DNS_UPSTREAM_SERVICE_HOST.
 * The zones go there over TCP, NodeLocal's default (`force_tcp`): a few long connections per node instead of a
 * conntrack entry per query. The root zone still comes from resolv.conf, stub domains from `zones`.
 */

export interface ClusterUpstreamSettings {
  /** Service name; "" turns discovery off. */
  readonly upstreamService: string;
  /** Zones to send to it. */
  readonly clusterZones: readonly string[];
}

export interface DiscoveredZone {
  readonly name: string;
  readonly servers: string[];
  readonly protocol: 'tcp';
}

export interface Discovery {
  /** Zones to add to the config (those `zones` does not already name). */
  readonly zones: DiscoveredZone[];
  /** `HOST:PORT` found, when one was. */
  readonly server?: string;
  /** Why nothing was added, when that is expected (off, or not running in a cluster). */
  readonly skipped?: string;
  /** Why nothing was added, when the variables are there but unusable: log it as a warning. */
  readonly problem?: string;
}

/** `kube-dns-upstream` → `KUBE_DNS_UPSTREAM` (the Kubernetes Service environment variable convention). */
export function serviceEnvPrefix(service: string): string {
  return service.toUpperCase().replace(/-/g, '_');
}

const normal = (zone: string) => zone.toLowerCase().replace(/\.$/, '');

/**
 * Pure: the zones to add, from the environment and the settings. A zone already in `existing` (the config's
 * `zones`, or a `--zone` flag) is left alone: what the operator wrote wins.
 */
export function discoverClusterUpstream(
  env: Readonly<Record<string, string | undefined>>,
  settings: ClusterUpstreamSettings,
  existing: readonly string[] = [],
): Discovery {
  if (settings.upstreamService === '') return { zones: [], skipped: 'node.upstreamService is ""' };
  const prefix = serviceEnvPrefix(settings.upstreamService);
  const hostVar = `${prefix}_SERVICE_HOST`;
  const portVar = `${prefix}_SERVICE_PORT`;
  const host = env[hostVar]?.trim();
  if (host === undefined || host === '') return { zones: [], skipped: `${hostVar} is not set` };
  if (isIP(host) === 0 || host.includes('%')) {
    return { zones: [], problem: `${hostVar}=${JSON.stringify(host)} is not an IP address` };
  }
  const portText = env[portVar]?.trim();
  let port = 53;
  if (portText !== undefined && portText !== '') {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
      return { zones: [], problem: `${portVar}=${JSON.stringify(portText)} is not a port number` };
    }
  }
  const server = isIP(host) === 6 ? `[${canonicalIp(host)}]:${port}` : `${host}:${port}`;
  const taken = new Set(existing.map(normal));
  const zones = settings.clusterZones
    .map(normal)
    .filter((z) => !taken.has(z))
    .map((name) => ({ name, servers: [server], protocol: 'tcp' as const }));
  return { zones, server };
}

/**
 * A config with the discovered zones appended to `zones`, and the discovery itself (to log). Pure; the config
 * passed in is not changed. Run it on every load, at start and on reload.
 */
export function withClusterUpstream<C extends { node: ClusterUpstreamSettings; zones: readonly { name: string }[] }>(
  config: C,
  env: Readonly<Record<string, string | undefined>>,
): { config: C; discovery: Discovery } {
  const discovery = discoverClusterUpstream(
    env,
    config.node,
    config.zones.map((z) => z.name),
  );
  if (discovery.zones.length === 0) return { config, discovery };
  return { config: { ...config, zones: [...config.zones, ...discovery.zones] }, discovery };
}
