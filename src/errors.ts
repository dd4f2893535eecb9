/**
 * ballast's error classes. Each has a stable `code`; modules throw or return them and only the listener boundary
 * maps them to an RCODE.
 */
export class BallastError extends Error {
  readonly code: string = 'BALLAST_ERROR';
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

/** Every upstream of the zone is open or probing: nothing is sent, the caller answers from stale or SERVFAIL. */
export class UpstreamsDownError extends BallastError {
  override readonly code = 'BALLAST_UPSTREAMS_DOWN';
}
