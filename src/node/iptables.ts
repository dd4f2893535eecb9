import { BallastError } from '../errors.js';
import { describeRun, type Exec, type ExecResult } from './exec.js';
import { type Family, type Rule, renderRule } from './rules.js';

/**
 * The iptables programs, nft or legacy. The two backends feed different kernel subsystems; a rule inserted "first"
 * with one runs after every rule of the other, so ballast must use the one the host (kube-proxy, kubelet) uses.
 */

export type IptablesMode = 'nft' | 'legacy';

export interface Backend {
  readonly mode: IptablesMode;
  /** The program per family, e.g. `iptables-nft` and `ip6tables-nft`; undefined when the image lacks it. */
  readonly programs: Readonly<Record<Family, string | undefined>>;
  /** How the mode was chosen, for the log. */
  readonly reason: string;
}

/** Why a command failed, as the `kind` label of ballast_node_setup_errors_total. */
export type IptablesFailure = 'iptables' | 'xtables_lock' | 'backend';

export class IptablesError extends BallastError {
  override readonly code = 'BALLAST_NODE_IPTABLES';
  constructor(
    message: string,
    readonly kind: IptablesFailure,
  ) {
    super(message);
  }
}

/** `iptables v1.8.9 (nf_tables)` → nft; `(legacy)` → legacy. */
export function modeOfVersion(output: string): IptablesMode | undefined {
  if (/\(nf_tables\)/.test(output)) return 'nft';
  if (/\(legacy\)/.test(output)) return 'legacy';
  return undefined;
}

/** kubelet (1.17+) creates one of these chains in the mangle table with the host's backend (iptables-wrappers). */
const KUBELET_HINT = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)\b/m;

/** `iptables-MODE`, else the plain name when it is that mode (older images ship only one). */
async function program(exec: Exec, base: 'iptables' | 'ip6tables', mode: IptablesMode): Promise<string | undefined> {
  for (const candidate of [`${base}-${mode}`, base]) {
    const r = await exec(candidate, ['-V']);
    if (r.code === 0 && modeOfVersion(r.stdout + r.stderr) === mode) return candidate;
  }
  return undefined;
}

async function programs(exec: Exec, mode: IptablesMode): Promise<Record<Family, string | undefined>> {
  return { 4: await program(exec, 'iptables', mode), 6: await program(exec, 'ip6tables', mode) };
}

async function save(exec: Exec, prog: string | undefined, args: string[]): Promise<string> {
  if (prog === undefined) return '';
  const r = await exec(`${prog}-save`, args);
  return r.code === 0 ? r.stdout : '';
}

/**
 * Picks the backend. A forced mode is used as it is (its programs must exist). `auto` follows kube-proxy's
 * iptables-wrapper: kubelet's hint chain with nft, then with legacy; then whichever has more rules; then what
 * the image's own `iptables -V` says; then nft. Legacy is read with a plain `-save` (no `-t`), which lists the
 * tables that exist without creating one.
 */
export async function detectBackend(exec: Exec, wanted: 'auto' | IptablesMode): Promise<Backend> {
  if (wanted !== 'auto') {
    const p = await programs(exec, wanted);
    if (p[4] === undefined && p[6] === undefined) {
      throw new IptablesError(`node.iptablesMode is ${wanted}, but no iptables-${wanted} program works`, 'backend');
    }
    return { mode: wanted, programs: p, reason: 'node.iptablesMode' };
  }
  const nft = await programs(exec, 'nft');
  const legacy = await programs(exec, 'legacy');
  const hasNft = nft[4] !== undefined || nft[6] !== undefined;
  const hasLegacy = legacy[4] !== undefined || legacy[6] !== undefined;
  if (!hasNft && !hasLegacy) throw new IptablesError('no iptables program works (neither nft nor legacy)', 'backend');
  if (!hasLegacy) return { mode: 'nft', programs: nft, reason: 'only iptables-nft is available' };
  if (!hasNft) return { mode: 'legacy', programs: legacy, reason: 'only iptables-legacy is available' };

  const nftMangle = (await save(exec, nft[4], ['-t', 'mangle'])) + (await save(exec, nft[6], ['-t', 'mangle']));
  if (KUBELET_HINT.test(nftMangle)) return { mode: 'nft', programs: nft, reason: "kubelet's hint chain is in nft" };
  const legacyAll = (await save(exec, legacy[4], [])) + (await save(exec, legacy[6], []));
  if (KUBELET_HINT.test(legacyAll)) {
    return { mode: 'legacy', programs: legacy, reason: "kubelet's hint chain is in legacy" };
  }
  const nftAll = (await save(exec, nft[4], [])) + (await save(exec, nft[6], []));
  const count = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ')).length;
  const [nLegacy, nNft] = [count(legacyAll), count(nftAll)];
  if (nLegacy !== nNft) {
    const mode = nLegacy > nNft ? 'legacy' : 'nft';
    return {
      mode,
      programs: mode === 'nft' ? nft : legacy,
      reason: `more rules in ${mode} (legacy ${nLegacy}, nft ${nNft})`,
    };
  }
  const image = modeOfVersion((await exec('iptables', ['-V'])).stdout);
  if (image === 'legacy') return { mode: 'legacy', programs: legacy, reason: 'no rules either way; image default' };
  return { mode: 'nft', programs: nft, reason: 'no rules either way; nft by default' };
}

/** Exit status 1 from `-C`: the rule is not there (or its chain/target is unknown, which `-I` then reports). */
const MISSING = 1;

/**
 * The rule operations, always with `-w SECONDS`: a held xtables lock is waited for, but not forever
 * (kubernetes/dns#292).
 */
export class Iptables {
  constructor(
    private readonly exec: Exec,
    readonly backend: Backend,
    private readonly waitSeconds: number,
  ) {}

  private failure(prog: string, args: string[], r: ExecResult): IptablesError {
    // Legacy talks to the kernel through a raw socket: it needs CAP_NET_RAW as well as CAP_NET_ADMIN.
    const caps = this.backend.mode === 'legacy' ? 'CAP_NET_ADMIN and CAP_NET_RAW' : 'CAP_NET_ADMIN';
    const hint = /permission denied|operation not permitted/i.test(r.stderr) ? ` (ballast needs ${caps})` : '';
    return new IptablesError(`${describeRun(prog, args, r)}${hint}`, classify(r));
  }

  private program(rule: Rule): string {
    const prog = this.backend.programs[rule.family];
    if (prog === undefined) {
      const base = rule.family === 6 ? 'ip6tables' : 'iptables';
      throw new IptablesError(`no ${base}-${this.backend.mode} program for IPv${rule.family} rules`, 'backend');
    }
    return prog;
  }

  private async run(rule: Rule, op: '-C' | '-I' | '-D'): Promise<ExecResult> {
    const prog = this.program(rule);
    const args = ['-w', String(this.waitSeconds), '-t', rule.table, op, rule.chain, ...rule.spec];
    const r = await this.exec(prog, args);
    if (r.code !== 0 && !(r.code === MISSING && op !== '-I')) throw this.failure(prog, args, r);
    return r;
  }

  /**
   * How many copies of each rule are in place, read with one `-S CHAIN` per chain instead of one `-C` per rule:
   * in legacy mode every command takes the xtables lock that kube-proxy also needs (kubernetes/dns#292), and a
   * steady-state resync then costs a handful of commands. A rule printed differently than ballast writes it (an
   * iptables version that formats otherwise) reads as 0 copies, and the caller falls back to `-C`.
   */
  async count(rules: readonly Rule[]): Promise<number[]> {
    const listings = new Map<string, string[]>();
    const counts: number[] = [];
    for (const rule of rules) {
      const key = `${rule.family} ${rule.table} ${rule.chain}`;
      let lines = listings.get(key);
      if (lines === undefined) {
        const prog = this.program(rule);
        const args = ['-w', String(this.waitSeconds), '-t', rule.table, '-S', rule.chain];
        const r = await this.exec(prog, args);
        if (r.code !== 0) throw this.failure(prog, args, r);
        lines = r.stdout.split('\n');
        listings.set(key, lines);
      }
      const printed = renderRule(rule);
      counts.push(lines.filter((l) => l === printed).length);
    }
    return counts;
  }

  async exists(rule: Rule): Promise<boolean> {
    return (await this.run(rule, '-C')).code === 0;
  }

  /** Prepends the rule (-I), as NodeLocal does, so it runs before the host's own rules. */
  async insert(rule: Rule): Promise<void> {
    await this.run(rule, '-I');
  }

  /** Deletes one copy; false when there was none. */
  async delete(rule: Rule): Promise<boolean> {
    return (await this.run(rule, '-D')).code === 0;
  }
}

function classify(r: ExecResult): IptablesFailure {
  const said = r.stderr + r.stdout;
  if (/xtables lock/i.test(said)) return 'xtables_lock';
  if (r.code === 127 || /insmod|table does not exist|protocol not supported|failed to initialize nft/i.test(said)) {
    return 'backend';
  }
  return 'iptables';
}
