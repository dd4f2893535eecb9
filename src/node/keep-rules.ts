import type { Logger } from 'pino';
import type { Exec } from './exec.js';
import { detectBackend, Iptables, IptablesError, type IptablesMode } from './iptables.js';
import type { Local } from './keep-interface.js';
import type { Pass } from './pass.js';
import { describeRule, type Rule } from './rules.js';

/** Copies of one rule removed at most (older tools duplicated rules: kubernetes/dns#568). */
const MAX_COPIES = 100;

/** Keeps ballast's rules in place for the local IPs that are on the node, and removes them at teardown. */
export class RuleKeeper {
  private iptables: Promise<Iptables> | undefined;
  /** Indexes of rules seen in place by an earlier pass: finding one missing later is a repair. */
  private readonly seen = new Set<number>();

  constructor(
    readonly rules: readonly Rule[],
    private readonly exec: Exec,
    private readonly mode: 'auto' | IptablesMode,
    private readonly waitSeconds: number,
    private readonly log: Logger,
  ) {}

  /** The backend, detected once; a failed detection is retried at the next pass. */
  private backend(): Promise<Iptables> {
    this.iptables ??= detectBackend(this.exec, this.mode).then((backend) => {
      const { mode, programs, reason } = backend;
      this.log.info({ mode, programs, reason }, `iptables backend: ${mode}`);
      return new Iptables(this.exec, backend, this.waitSeconds);
    });
    this.iptables.catch(() => {
      this.iptables = undefined;
    });
    return this.iptables;
  }

  /** How many copies of each rule a listing shows; undefined when the listing failed. */
  private async counts(ipt: Iptables): Promise<number[] | undefined> {
    try {
      return await ipt.count(this.rules);
    } catch {
      // Rule by rule then: `-C` and `-D` report (and count) whatever is wrong.
      return undefined;
    }
  }

  /**
   * Rules for the local IPs that are on the interface, and none for one that is missing and could not be put
   * back: NOTRACK on the kube-dns ClusterIP with no local address would send its queries nowhere (neither to
   * ballast nor, through kube-proxy's DNAT, to CoreDNS). When `ip` itself failed, the rules are left as they are.
   * A listing finds what is in place in a few commands; `-C` guards every insert, so never a duplicate.
   */
  async ensure(local: Local, pass: Pass): Promise<void> {
    if (this.rules.length === 0 || local.kind === 'unknown') return;
    let ipt: Iptables;
    try {
      ipt = await this.backend();
    } catch (err) {
      pass.fail(err instanceof IptablesError ? err.kind : 'backend', err);
      return;
    }
    const counts = await this.counts(ipt);
    const withdrawn: string[] = [];
    for (const [i, rule] of this.rules.entries()) {
      try {
        if (local.kind === 'known' && !local.ips.has(rule.ip)) {
          this.seen.delete(i);
          if ((await deleteAll(ipt, rule, counts?.[i])) > 0) withdrawn.push(describeRule(rule));
        } else if ((counts?.[i] ?? 0) > 0 || (await ipt.exists(rule))) {
          this.seen.add(i);
        } else {
          await ipt.insert(rule);
          pass.add(describeRule(rule), this.seen.has(i) ? 'rule' : undefined);
          this.seen.add(i);
        }
      } catch (err) {
        pass.fail(err instanceof IptablesError ? err.kind : 'iptables', err);
      }
    }
    if (withdrawn.length > 0) this.log.warn({ withdrawn }, 'local address missing: its rules are withdrawn');
  }

  /** Every copy of every one of ballast's rules. */
  async remove(pass: Pass): Promise<void> {
    if (this.rules.length === 0) return;
    let ipt: Iptables;
    try {
      ipt = await this.backend();
    } catch (err) {
      pass.fail('teardown', err);
      return;
    }
    const counts = await this.counts(ipt);
    for (const [i, rule] of this.rules.entries()) {
      try {
        const copies = await deleteAll(ipt, rule, counts?.[i]);
        if (copies > 0) pass.removed.push(describeRule(rule) + (copies > 1 ? ` (${copies} copies)` : ''));
      } catch (err) {
        pass.fail('teardown', err);
      }
    }
  }
}

/**
 * Deletes every copy of a rule: the `listed` copies a listing counted, else until `-D` finds none (a listing that
 * counted none may only have printed the rule differently).
 */
async function deleteAll(ipt: Iptables, rule: Rule, listed: number | undefined): Promise<number> {
  let copies = 0;
  if (listed !== undefined && listed > 0) {
    for (; copies < Math.min(listed, MAX_COPIES); copies++) await ipt.delete(rule);
    return copies;
  }
  while (copies < MAX_COPIES && (await ipt.delete(rule))) copies++;
  return copies;
}
