import { describe, expect, it } from 'vitest';
import { ClientFilter } from '../../src/server/index.js';
import { parseCidr } from '../../src/util/cidr.js';

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['192.0.2.7', { address: '192.0.2.7', prefix: 32, family: 'ipv4' }],
    ['fd00::/8', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
    ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
  ])('reads %s', (text, want) => expect(parseCidr(text)).toEqual(want));

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'cluster.local', '10.0.0.0/', '10.0.0.0/-1', '', '/8'])(
    'refuses %j',
    (text) => expect(parseCidr(text)).toBeUndefined(),
  );
});

describe('ClientFilter', () => {
  it('allows everyone when empty, and counts nothing', () => {
    let denied = 0;
    const f = new ClientFilter([], () => denied++);
    expect(['10.1.2.3', '::1', 'nonsense'].every((a) => f.allows(a))).toBe(true);
    expect(denied).toBe(0);
  });

  it('allows the listed networks, IPv4 seen on a dual-stack socket included, and counts each refusal', () => {
    let denied = 0;
    const f = new ClientFilter(['10.244.0.0/16', 'fd00:10::/64', '192.0.2.1'], () => denied++);
    const allowed = ['10.244.3.9', '::ffff:10.244.0.1', 'fd00:10::53', '192.0.2.1', '::FFFF:192.0.2.1'];
    const refused = ['10.245.0.1', '192.0.2.2', 'fd00:11::1', '::ffff:10.245.0.1', '::1', 'not-an-ip', undefined];
    for (const address of allowed) expect(f.allows(address), address).toBe(true);
    for (const address of refused) expect(f.allows(address), String(address)).toBe(false);
    expect(denied).toBe(refused.length);
  });
});
