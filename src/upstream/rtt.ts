export interface RtoOptions {
  /** Retransmission timeout before the first answer (RFC 6298 §2.1 uses 1 s for TCP; DNS servers answer sooner). */
  readonly initialRtoMs: number;
  /** Floor: scheduling noise and a cold recursive miss must not look like loss. */
  readonly minRtoMs: number;
  /** Ceiling of one attempt's wait, before doubling per retransmission. */
  readonly maxRtoMs: number;
}

/**
 * The retransmission timeout of one upstream for one zone, from RFC 6298's estimator: RTO = SRTT + 4·RTTVAR, clamped.
 * A healthy CoreDNS answers in about a millisecond, so the floor decides how soon a lost datagram is sent again;
 * each sample is one attempt's own round trip (every attempt has its own ID, so Karn's ambiguity does not arise).
 */
export class RttEstimator {
  private srtt = -1;
  private rttvar = 0;

  constructor(private readonly opts: RtoOptions) {}

  /** Records one answered attempt's round-trip time. */
  sample(ms: number): void {
    if (this.srtt < 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /** How long the first attempt waits before the query is sent again; later attempts double it. */
  get rtoMs(): number {
    const { initialRtoMs, minRtoMs, maxRtoMs } = this.opts;
    const rto = this.srtt < 0 ? initialRtoMs : Math.ceil(this.srtt + 4 * this.rttvar);
    return Math.min(maxRtoMs, Math.max(minRtoMs, rto));
  }
}
