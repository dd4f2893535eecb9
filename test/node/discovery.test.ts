// The cluster zones' upstream from the kube-dns-upstream Service's environment variables: a pure function.
import { describe, expect, it } from 'vitest';
import {
  type ClusterUpstreamSettings,
  discoverClusterUpstream,
  serviceEnvPrefix,
  withClusterUpstream,
} from '../../src/node/index.js';

const defaults: ClusterUpstreamSettings = {
  upstreamService: 'kube-dns-upstream',
  clusterZones: ['cluster.local', 'in-addr.arpa', 'ip6.arpa'],
};
const tcp = (name: string, server: string) => ({ name, servers: [server], protocol: 'tcp' });

describe('discoverClusterUpstream', () => {
  it.each([
    [
      'host and port',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11', KUBE_DNS_UPSTREAM_SERVICE_PORT: '53' },
      defaults,
      [],
      {
        server: '10.96.0.11:53',
        zones: [
          tcp('cluster.local', '10.96.0.11:53'),
          tcp('in-addr.arpa', '10.96.0.11:53'),
          tcp('ip6.arpa', '10.96.0.11:53'),
        ],
      },
    ],
    [
      'no port variable: 53',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11' },
      { ...defaults, clusterZones: ['cluster.local'] },
      [],
      { server: '10.96.0.11:53', zones: [tcp('cluster.local', '10.96.0.11:53')] },
    ],
    [
      'IPv6, canonicalised and bracketed',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: 'FD00:0::A', KUBE_DNS_UPSTREAM_SERVICE_PORT: '5353' },
      { ...defaults, clusterZones: ['cluster.local'] },
      [],
      { server: '[fd00::a]:5353', zones: [tcp('cluster.local', '[fd00::a]:5353')] },
    ],
    [
      'zones the config already has are left to it',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11' },
      defaults,
      ['Cluster.Local.', 'ip6.arpa'],
      { server: '10.96.0.11:53', zones: [tcp('in-addr.arpa', '10.96.0.11:53')] },
    ],
    [
      'another Service name',
      { MY_DNS_SERVICE_HOST: '10.0.0.9', KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11' },
      { upstreamService: 'my-dns', clusterZones: ['corp.example'] },
      [],
      { server: '10.0.0.9:53', zones: [tcp('corp.example', '10.0.0.9:53')] },
    ],
    ['outside a cluster', {}, defaults, [], { zones: [], skipped: 'KUBE_DNS_UPSTREAM_SERVICE_HOST is not set' }],
    [
      'turned off',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11' },
      { ...defaults, upstreamService: '' },
      [],
      { zones: [], skipped: 'node.upstreamService is ""' },
    ],
    [
      'a host that is not an IP',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: 'kube-dns' },
      defaults,
      [],
      { zones: [], problem: 'KUBE_DNS_UPSTREAM_SERVICE_HOST="kube-dns" is not an IP address' },
    ],
    [
      'a bad port',
      { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11', KUBE_DNS_UPSTREAM_SERVICE_PORT: '70000' },
      defaults,
      [],
      { zones: [], problem: 'KUBE_DNS_UPSTREAM_SERVICE_PORT="70000" is not a port number' },
    ],
  ] as const)('%s', (_name, env, settings, existing, expected) => {
    expect(discoverClusterUpstream(env, settings, existing)).toEqual(expected);
  });

  it('names the variables as Kubernetes does', () => {
    expect(serviceEnvPrefix('kube-dns-upstream')).toBe('KUBE_DNS_UPSTREAM');
    expect(serviceEnvPrefix('dns')).toBe('DNS');
  });

  it('appends the zones to a config without changing the one passed in', () => {
    const config = { node: defaults, zones: [{ name: 'corp.example', servers: ['10.1.0.2'] }], other: 1 };
    const { config: next, discovery } = withClusterUpstream(config, { KUBE_DNS_UPSTREAM_SERVICE_HOST: '10.96.0.11' });
    expect(discovery.server).toBe('10.96.0.11:53');
    expect(next.zones.map((z) => z.name)).toEqual(['corp.example', 'cluster.local', 'in-addr.arpa', 'ip6.arpa']);
    expect(next.other).toBe(1);
    expect(config.zones).toHaveLength(1);
    expect(withClusterUpstream(config, {}).config).toBe(config);
  });
});
