// NodeLocal DNSCache's rules as ballast writes them (docs/design.md §3): pure data.
import { describe, expect, it } from 'vitest';
import { describeRule, nodeRules, renderRule } from '../../src/node/index.js';

describe('nodeRules', () => {
  it('has NodeLocal DNSCache rules for UDP and TCP, and three for the admin port, per local IP', () => {
    const rules = nodeRules(['169.254.20.10'], 9253);
    expect(rules.map(describeRule)).toEqual([
      'iptables -t raw PREROUTING -d 169.254.20.10/32 -p udp --dport 53 -j NOTRACK',
      'iptables -t filter INPUT -d 169.254.20.10/32 -p udp --dport 53 -j ACCEPT',
      'iptables -t raw OUTPUT -s 169.254.20.10/32 -p udp --sport 53 -j NOTRACK',
      'iptables -t filter OUTPUT -s 169.254.20.10/32 -p udp --sport 53 -j ACCEPT',
      'iptables -t raw OUTPUT -d 169.254.20.10/32 -p udp --dport 53 -j NOTRACK',
      'iptables -t raw PREROUTING -d 169.254.20.10/32 -p tcp --dport 53 -j NOTRACK',
      'iptables -t filter INPUT -d 169.254.20.10/32 -p tcp --dport 53 -j ACCEPT',
      'iptables -t raw OUTPUT -s 169.254.20.10/32 -p tcp --sport 53 -j NOTRACK',
      'iptables -t filter OUTPUT -s 169.254.20.10/32 -p tcp --sport 53 -j ACCEPT',
      'iptables -t raw OUTPUT -d 169.254.20.10/32 -p tcp --dport 53 -j NOTRACK',
      'iptables -t raw PREROUTING -d 169.254.20.10/32 -p tcp --dport 9253 -j NOTRACK',
      'iptables -t raw OUTPUT -d 169.254.20.10/32 -p tcp --dport 9253 -j NOTRACK',
      'iptables -t raw OUTPUT -s 169.254.20.10/32 -p tcp --sport 9253 -j NOTRACK',
    ]);
  });

  it('uses ip6tables and /128 for IPv6, canonicalised', () => {
    const [rule] = nodeRules(['FD00:0::10']);
    expect(rule.family).toBe(6);
    expect(renderRule(rule)).toBe(
      '-A PREROUTING -d fd00::10/128 -p udp -m udp --dport 53 -m comment --comment "ballast: node-local DNS, skip conntrack" -j NOTRACK',
    );
  });

  it('marks every rule with a comment starting "ballast:"', () => {
    for (const rule of nodeRules(['10.96.0.10', 'fd00::10'], 9253)) {
      const i = rule.spec.indexOf('--comment');
      expect(rule.spec[i + 1]).toMatch(/^ballast: /);
    }
  });
});
