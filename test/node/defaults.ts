// The defaults of the `node:` section, written down once (not read from src/, so the tests check them): the node
// tests compare nodeSchema with it (test/node/config.test.ts), the config tests the whole default config
// (test/config/load.test.ts).
export const NODE_DEFAULTS = {
  localIps: [],
  setupInterface: false,
  setupIptables: false,
  interfaceName: 'nodelocaldns',
  interfaceKind: 'dummy',
  iptablesMode: 'auto',
  resyncSeconds: 60,
  skipTeardown: false,
  instanceDir: '/run/ballast',
  upstreamService: 'kube-dns-upstream',
  clusterZones: ['cluster.local', 'in-addr.arpa', 'ip6.arpa'],
};
