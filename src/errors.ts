/**
 * ballast's errors. Every class has a stable `code` (the same across releases, safe to match on and to log) and takes
 * an optional `cause`. Modules throw or return them; only the listener boundary maps them to an RCODE and logs them.
 * Errors that belong to one concern live with it (wire, persist, chaos, node) and extend BallastError too.
 */
export class BallastError extends Error {
  readonly code: string = 'BALLAST_ERROR';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No usable answer from an upstream within its timeout. */
export class UpstreamTimeoutError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAM_TIMEOUT';
}

/** A socket error, a closed connection, or an answer that could not be used. */
export class UpstreamNetworkError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAM_NETWORK';
}

/** Too many queries already in flight to this upstream. */
export class UpstreamBusyError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAM_BUSY';
}

/** A setting that failed validation; the message names the key path, the value and what is allowed. */
export class ConfigError extends BallastError {
  override readonly code = 'BALLAST_CONFIG_INVALID';
}

/** A command line that cannot be run: an unknown command or flag, or a bad flag value. */
export class UsageError extends BallastError {
  override readonly code = 'BALLAST_USAGE';
}

/** Every upstream of the zone is open or probing: nothing is sent, the caller answers from stale or SERVFAIL. */
export class UpstreamsDownError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAMS_DOWN';
}

/** An attempt given up by its caller because another attempt answered first: not a failure of the upstream. */
export class AbandonedError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAM_ABANDONED';
}

/** A client's fair-queuing queue is full: its query is refused rather than held without bound. */
export class QueueFullError extends BallastError {
  override readonly code = 'BALLAST_QUEUE_FULL';
}

/** A query waited its whole deadline in the fair queue without upstream capacity: ballast's, not the name's. */
export class CapacityTimeoutError extends BallastError {
  override readonly code = 'BALLAST_CAPACITY_TIMEOUT';
}

/**
 * A query got no answer by its deadline after a retransmission it needed was not sent (the retry budget or the
 * upstream's capacity said no): ballast's own limit, so the name is not held for it.
 */
export class RetryStarvedError extends BallastError {
  override readonly code = 'BALLAST_RETRY_STARVED';
}
