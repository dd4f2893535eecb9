import { isIP } from 'node:net';
import { BallastError } from '../errors.js';
import { canonicalIp } from './config.js';
import { describeRun, type Exec } from './exec.js';

/**
 * The interface that carries the local IPs, through `ip`. An interface ballast creates is marked with the alias
 * "ballast" (IFLA_IFALIAS): the kernel keeps the mark across pod restarts and rollouts, so any later instance
 * knows the interface is ballast's to delete, and `ip link show` tells an operator who made it.
 */

export const OWNER_ALIAS = 'ballast';

export interface LinkState {
  /** info_kind, e.g. dummy or bridge. */
  readonly kind: string | undefined;
  /** Created by ballast (alias "ballast"). */
  readonly ours: boolean;
  readonly up: boolean;
  /** Canonical addresses on it. */
  readonly addresses: ReadonlySet<string>;
}

export class LinkError extends BallastError {
  override readonly code = 'BALLAST_NODE_LINK';
  constructor(
    message: string,
    readonly kind: 'interface' | 'address',
  ) {
    super(message);
  }
}

interface IpJsonLink {
  flags?: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { local?: string }[];
}

export class Link {
  constructor(
    private readonly exec: Exec,
    readonly name: string,
  ) {}

  private async ip(args: string[], kind: 'interface' | 'address'): Promise<string> {
    const r = await this.exec('ip', args);
    if (r.code !== 0) {
      const hint = /operation not permitted/i.test(r.stderr) ? ' (ballast needs CAP_NET_ADMIN)' : '';
      throw new LinkError(`${describeRun('ip', args, r)}${hint}`, kind);
    }
    return r.stdout;
  }

  /** The interface as the kernel has it, or undefined when it does not exist. */
  async state(): Promise<LinkState | undefined> {
    const args = ['-j', '-d', 'addr', 'show', 'dev', this.name];
    const r = await this.exec('ip', args);
    if (r.code !== 0) {
      if (/does not exist/i.test(r.stderr)) return undefined;
      throw new LinkError(describeRun('ip', args, r), 'interface');
    }
    let link: IpJsonLink | undefined;
    try {
      link = (JSON.parse(r.stdout) as IpJsonLink[])[0];
    } catch {
      throw new LinkError(`${describeRun('ip', args)}: output is not JSON`, 'interface');
    }
    if (link === undefined) return undefined;
    return {
      kind: link.linkinfo?.info_kind,
      ours: link.ifalias === OWNER_ALIAS,
      up: link.flags?.includes('UP') ?? false,
      addresses: new Set((link.addr_info ?? []).flatMap((a) => (a.local ? [canonicalIp(a.local)] : []))),
    };
  }

  /** Creates the interface and marks it as ballast's. */
  async create(kind: string): Promise<void> {
    await this.ip(['link', 'add', this.name, 'type', kind], 'interface');
    await this.ip(['link', 'set', 'dev', this.name, 'alias', OWNER_ALIAS], 'interface');
  }

  /** Up, so IPv6 addresses leave the tentative state and every address can be bound. */
  async up(): Promise<void> {
    await this.ip(['link', 'set', 'dev', this.name, 'up'], 'interface');
  }

  /**
   * Adds a host address: /32 or /128, scope host-wide. IPv6 skips duplicate address detection (`nodad`): the
   * address is node-local by design, and a tentative address cannot be bound.
   */
  async addAddress(ip: string): Promise<void> {
    const v6 = isIP(ip) === 6;
    const args = ['addr', 'add', `${canonicalIp(ip)}/${v6 ? 128 : 32}`, 'dev', this.name];
    await this.ip(v6 ? [...args, 'nodad'] : args, 'address');
  }

  async deleteAddress(ip: string): Promise<void> {
    const v6 = isIP(ip) === 6;
    await this.ip(['addr', 'del', `${canonicalIp(ip)}/${v6 ? 128 : 32}`, 'dev', this.name], 'address');
  }

  async delete(): Promise<void> {
    await this.ip(['link', 'del', 'dev', this.name], 'interface');
  }
}
