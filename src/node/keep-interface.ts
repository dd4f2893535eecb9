import { canonicalIp, type NodeConfig } from './config.js';
import { type Link, LinkError, type LinkState } from './link.js';
import type { Pass } from './pass.js';

/** Which local IPs are on the interface after a pass: all (not ballast's job), unknown (`ip` failed), or these. */
export type Local =
  | { readonly kind: 'unmanaged' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'known'; readonly ips: ReadonlySet<string> };

type Settings = Pick<NodeConfig, 'localIps' | 'setupInterface' | 'interfaceName' | 'interfaceKind'>;

/** Keeps the interface up with every local IP on it, and removes what ballast owns of it at teardown. */
export class InterfaceKeeper {
  /** Seen in place by an earlier pass: finding it missing later is a repair. */
  private seenInterface = false;
  private readonly seenAddresses = new Set<string>();
  /** Addresses this process put on an interface it did not create: the only ones it removes from it. */
  private readonly addedToForeign = new Set<string>();

  constructor(
    private readonly link: Link,
    private readonly settings: Settings,
  ) {}

  /** Returns which local IPs are on the interface afterwards; "unknown" only when it could not even be read. */
  async ensure(pass: Pass): Promise<Local> {
    if (!this.settings.setupInterface) return { kind: 'unmanaged' };
    const fail = (err: unknown) => pass.fail(err instanceof LinkError ? err.kind : 'interface', err);
    let state: LinkState | undefined;
    try {
      state = await this.link.state();
    } catch (err) {
      fail(err);
      return { kind: 'unknown' };
    }
    const present = new Set<string>();
    try {
      state ??= await this.create(pass);
    } catch (err) {
      fail(err);
      return { kind: 'known', ips: present };
    }
    this.seenInterface = true;
    if (!state.up) await this.link.up().catch(fail);
    for (const ip of this.settings.localIps.map(canonicalIp)) {
      if (!state.addresses.has(ip)) {
        try {
          await this.link.addAddress(ip);
        } catch (err) {
          fail(err);
          continue;
        }
        if (!state.ours) this.addedToForeign.add(ip);
        pass.add(`address ${ip} on ${this.link.name}`, this.seenAddresses.has(ip) ? 'address' : undefined);
      }
      this.seenAddresses.add(ip);
      present.add(ip);
    }
    return { kind: 'known', ips: present };
  }

  private async create(pass: Pass): Promise<LinkState> {
    const kind = this.settings.interfaceKind;
    try {
      await this.link.create(kind);
    } catch (err) {
      const hint =
        kind === 'dummy' && /unknown device type/i.test((err as Error).message)
          ? '; this kernel has no dummy link type: load the dummy module, or set node.interfaceKind to bridge or ifb'
          : '';
      throw new LinkError(`${(err as Error).message}${hint}`, 'interface');
    }
    pass.add(`interface ${this.link.name} (${kind})`, this.seenInterface ? 'interface' : undefined);
    const state = await this.link.state();
    if (state === undefined)
      throw new LinkError(`interface ${this.link.name} vanished after it was created`, 'interface');
    return state;
  }

  /** ballast's own interface goes, with its addresses; on someone else's, only the addresses this process added. */
  async remove(pass: Pass): Promise<void> {
    if (!this.settings.setupInterface) return;
    try {
      const state = await this.link.state();
      if (state === undefined) return;
      if (state.ours) {
        await this.link.delete();
        pass.removed.push(`interface ${this.link.name}`);
        return;
      }
      for (const ip of this.addedToForeign) {
        if (!state.addresses.has(ip)) continue;
        await this.link.deleteAddress(ip);
        pass.removed.push(`address ${ip} on ${this.link.name}`);
      }
      this.addedToForeign.clear();
    } catch (err) {
      pass.fail('teardown', err);
    }
  }
}
