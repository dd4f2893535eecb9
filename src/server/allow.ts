import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../util/cidr.js';

/**
 * `server.allowClients`: the networks whose queries ballast answers. Empty means everyone. A datagram from anywhere
 * else is dropped unread and a TCP connection closed at accept, each counted once through `onDenied`
 * (ballast_dropped_queries_total{reason="not_allowed"}), so an address outside the node's pod networks gets nothing
 * — not even an error reply to reflect (docs/design.md §6).
 */
export class ClientFilter {
  private readonly list: BlockList | undefined;

  constructor(
    cidrs: readonly string[],
    private readonly onDenied: () => void,
  ) {
    if (cidrs.length === 0) return;
    this.list = new BlockList();
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      // Config validation has checked every entry; one that still does not parse is a bug, not a network to skip.
      if (cidr === undefined) throw new Error(`server.allowClients: not a CIDR: ${text}`);
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  /** Whether `address` may be served; counts the ones that may not. */
  allows(address: string | undefined): boolean {
    if (this.list === undefined) return true;
    if (address !== undefined && this.match(this.list, address)) return true;
    this.onDenied();
    return false;
  }

  private match(list: BlockList, address: string): boolean {
    const version = isIP(address);
    if (version === 4) return list.check(address, 'ipv4');
    if (version !== 6) return false;
    if (list.check(address, 'ipv6')) return true;
    // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): match it as IPv4.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped !== null && list.check(mapped[1], 'ipv4');
  }
}
