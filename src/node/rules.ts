import { isIP } from 'node:net';
import { canonicalIp, DNS_PORT } from './config.js';

/**
 * NodeLocal DNSCache's rules (docs/design.md §3, kubernetes/dns cmd/node-cache), as pure data. Every rule carries a
 * comment starting with "ballast:", so an operator can tell ours from anyone else's in `iptables -S`, and so the
 * exact spec (comment included) is what `-C`, `-I` and `-D` match: ballast never touches a rule it did not write.
 */

export type Family = 4 | 6;

export interface Rule {
  /** The local IP the rule is for, canonical. */
  readonly ip: string;
  readonly family: Family;
  readonly table: 'raw' | 'filter';
  readonly chain: 'PREROUTING' | 'INPUT' | 'OUTPUT';
  /** Everything after the chain name, as passed to `iptables -C/-I/-D TABLE CHAIN ...`. */
  readonly spec: readonly string[];
}

export const COMMENT_NOTRACK = 'ballast: node-local DNS, skip conntrack';
export const COMMENT_ACCEPT = 'ballast: node-local DNS, accept untracked';
export const COMMENT_ADMIN = 'ballast: admin port, skip conntrack';
/** Every ballast rule's comment starts with this. */
export const COMMENT_PREFIX = 'ballast:';

type Proto = 'udp' | 'tcp';

function spec(dir: '-d' | '-s', ip: string, proto: Proto, port: number, comment: string, target: string): string[] {
  const prefix = isIP(ip) === 6 ? 128 : 32;
  const match = ['-p', proto, '-m', proto, dir === '-d' ? '--dport' : '--sport', String(port)];
  return [dir, `${ip}/${prefix}`, ...match, '-m', 'comment', '--comment', comment, '-j', target];
}

/**
 * The rules for each local IP. Why each one exists:
 * - raw PREROUTING -d IP --dport 53 NOTRACK: queries from pods skip conntrack. On the kube-dns ClusterIP this is
 *   also what keeps kube-proxy's DNAT (which needs a conntrack entry) from sending them to CoreDNS instead.
 * - filter INPUT -d IP --dport 53 ACCEPT: untracked packets match no "ESTABLISHED,RELATED" accept rule.
 * - raw OUTPUT -s IP --sport 53 NOTRACK and filter OUTPUT ... ACCEPT: the same for the replies.
 * - raw OUTPUT -d IP --dport 53 NOTRACK: queries from the node itself and from hostNetwork pods.
 * - the admin port, TCP: NodeLocal's two raw OUTPUT rules (the kubelet's probe is generated on the node), plus
 *   raw PREROUTING for probes and scrapes that arrive from another network namespace.
 * A DNS conntrack entry per query is what fills the table on a busy node (the reason NodeLocal exists).
 */
export function nodeRules(localIps: readonly string[], adminPort?: number): Rule[] {
  const rules: Rule[] = [];
  for (const address of localIps) {
    const ip = canonicalIp(address);
    const family: Family = isIP(ip) === 6 ? 6 : 4;
    const add = (table: Rule['table'], chain: Rule['chain'], spec: string[]) =>
      rules.push({ ip, family, table, chain, spec });
    for (const proto of ['udp', 'tcp'] as const) {
      add('raw', 'PREROUTING', spec('-d', ip, proto, DNS_PORT, COMMENT_NOTRACK, 'NOTRACK'));
      add('filter', 'INPUT', spec('-d', ip, proto, DNS_PORT, COMMENT_ACCEPT, 'ACCEPT'));
      add('raw', 'OUTPUT', spec('-s', ip, proto, DNS_PORT, COMMENT_NOTRACK, 'NOTRACK'));
      add('filter', 'OUTPUT', spec('-s', ip, proto, DNS_PORT, COMMENT_ACCEPT, 'ACCEPT'));
      add('raw', 'OUTPUT', spec('-d', ip, proto, DNS_PORT, COMMENT_NOTRACK, 'NOTRACK'));
    }
    if (adminPort !== undefined && adminPort > 0 && adminPort !== DNS_PORT) {
      add('raw', 'PREROUTING', spec('-d', ip, 'tcp', adminPort, COMMENT_ADMIN, 'NOTRACK'));
      add('raw', 'OUTPUT', spec('-d', ip, 'tcp', adminPort, COMMENT_ADMIN, 'NOTRACK'));
      add('raw', 'OUTPUT', spec('-s', ip, 'tcp', adminPort, COMMENT_ADMIN, 'NOTRACK'));
    }
  }
  return rules;
}

/** `-t raw PREROUTING -d 169.254.20.10/32 -p udp --dport 53 -j NOTRACK`: a rule in logs, without the comment. */
export function describeRule(rule: Rule): string {
  const words: string[] = [];
  for (let i = 0; i < rule.spec.length; i++) {
    const w = rule.spec[i];
    if (w === '-m') {
      i++;
      continue;
    }
    if (w === '--comment') {
      i++;
      continue;
    }
    words.push(w);
  }
  return `${rule.family === 6 ? 'ip6tables' : 'iptables'} -t ${rule.table} ${rule.chain} ${words.join(' ')}`;
}

/** The rule as `iptables -S` prints it: `-A CHAIN` and the spec, words with spaces in double quotes. */
export function renderRule(rule: Rule): string {
  return `-A ${rule.chain} ${rule.spec.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ')}`;
}
