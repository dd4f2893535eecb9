// The `node:` section: defaults, what is refused (with a message naming what is allowed), and the checks
// against `listen`.

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/index.js';
import { canonicalIp, checkNodeConfig, localIpListen, nodeSchema } from '../../src/node/index.js';
import { NODE_DEFAULTS } from './defaults.js';

const parse = (input: unknown) => v.safeParse(nodeSchema, input);
/** The first line of the error validating `{ node: input }` raises, without the value it quotes. */
const firstIssue = (input: unknown) => {
  try {
    validate({ node: input });
    return undefined;
  } catch (err) {
    return (err as Error).message
      .split('\n')[1]
      .trim()
      .replace(/: got .*?; /, ': ');
  }
};

describe('nodeSchema', () => {
  it('is off by default, so ballast needs no root', () => {
    expect(validate({}).node).toEqual(NODE_DEFAULTS);
  });

  it.each([
    [{ localIps: ['169.254.20.10', 'fd00::10'] }],
    [{ interfaceName: 'nodelocaldns.1' }],
    [{ interfaceKind: 'bridge', iptablesMode: 'legacy' }],
    [{ resyncSeconds: 1 }],
    [{ upstreamService: '' }],
    [{ clusterZones: ['Cluster.Local.'] }],
  ])('accepts %j', (input) => {
    expect(parse(input).success).toBe(true);
  });

  it.each([
    [{ localIps: ['169.254.20.10:53'] }, 'node.localIps.0: expected an IPv4 or IPv6 address, without port or zone'],
    [{ localIps: ['fe80::1%eth0'] }, 'node.localIps.0: expected an IPv4 or IPv6 address, without port or zone'],
    [{ localIps: ['::ffff:10.0.0.1'] }, 'node.localIps.0: expected an IPv4 or IPv6 address, without port or zone'],
    [{ localIps: ['fd00::10', 'FD00:0::10'] }, 'node.localIps: lists an address twice'],
    [
      { interfaceName: 'a-name-that-is-too-long' },
      'node.interfaceName: expected a Linux interface name: 1–15 letters, digits, "_", "-" or "."',
    ],
    [
      { interfaceName: 'eth 0' },
      'node.interfaceName: expected a Linux interface name: 1–15 letters, digits, "_", "-" or "."',
    ],
    [
      { interfaceName: '..' },
      'node.interfaceName: expected a Linux interface name: 1–15 letters, digits, "_", "-" or "."',
    ],
    [{ interfaceKind: 'veth' }, 'node.interfaceKind: expected one of "dummy", "bridge", "ifb"'],
    [{ iptablesMode: 'nftables' }, 'node.iptablesMode: expected one of "auto", "nft", "legacy"'],
    [{ resyncSeconds: 0 }, 'node.resyncSeconds: expected an integer from 1 to 3600'],
    [{ upstreamService: 'Kube_DNS' }, 'node.upstreamService: expected a Service name (RFC 1035 label) or ""'],
    [{ clusterZones: ['bad zone'] }, 'node.clusterZones.0: expected a DNS zone name such as cluster.local'],
    [{ setupIptable: true }, 'node: unknown key(s) "setupIptable"; remove or fix the spelling'],
  ])('refuses %j', (input, message) => {
    expect(firstIssue(input)).toBe(message);
  });
});

describe('checkNodeConfig', () => {
  const node = (over: object) => v.parse(nodeSchema, over);

  it('wants a listen address on port 53 for each local IP', () => {
    const n = node({ localIps: ['169.254.20.10', '10.96.0.10', 'fd00::10'] });
    expect(checkNodeConfig(n, ['169.254.20.10:53', '10.96.0.10:53', '[FD00:0::10]:53'])).toEqual([]);
    expect(checkNodeConfig(n, ['0.0.0.0:53', '[::]:53'])).toEqual([]);
    expect(checkNodeConfig(n, ['169.254.20.10:5353', '[::]:53'])).toEqual([
      {
        path: ['node', 'localIps', 0],
        input: '169.254.20.10',
        message: 'no listen address serves it on port 53; add "169.254.20.10:53" to listen (--local-ip does both)',
      },
      {
        path: ['node', 'localIps', 1],
        input: '10.96.0.10',
        message: 'no listen address serves it on port 53; add "10.96.0.10:53" to listen (--local-ip does both)',
      },
    ]);
  });

  it('leaves an address that is not an IP to the schema', () => {
    const n = { ...node({}), localIps: ['169.254.20.10:53'] };
    expect(checkNodeConfig(n, ['127.0.0.1:5353'])).toEqual([]);
  });

  it('wants a local IP when a setup is on', () => {
    expect(checkNodeConfig(node({ setupIptables: true, setupInterface: true }), ['127.0.0.1:5353'])).toEqual([
      { path: ['node', 'setupInterface'], input: true, message: 'needs at least one node.localIps entry' },
      { path: ['node', 'setupIptables'], input: true, message: 'needs at least one node.localIps entry' },
    ]);
    expect(checkNodeConfig(node({}), ['127.0.0.1:5353'])).toEqual([]);
  });

  it('writes listen addresses and canonical IPs', () => {
    expect(localIpListen('169.254.20.10')).toBe('169.254.20.10:53');
    expect(localIpListen('FD00:0:0::10')).toBe('[fd00::10]:53');
    expect(canonicalIp('fd00:0:0:0:0:0:0:10')).toBe('fd00::10');
    expect(canonicalIp('10.96.0.10')).toBe('10.96.0.10');
  });
});
