import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { ResponseScan } from '../wire/index.js';
import { checkResponse, isScan, type RejectReason, TRUNCATED } from './validate.js';

export interface UdpAnswer {
  readonly bytes: Buffer;
  /** undefined when the upstream set TC=1. */
  readonly scan: ResponseScan | undefined;
}

/**
 * One UDP exchange on a socket of its own: the kernel picks a random source port for it (RFC 5452 §4.5), the ID
 * was randomised by the caller, and anything that is not the answer — wrong source, ID or question, or garbage —
 * is counted through `onReject` and ignored while the wait goes on (docs/design.md §6).
 */
export function udpExchange(
  host: string,
  port: number,
  query: Buffer,
  questionEnd: number,
  timeoutMs: number,
  clock: Clock,
  onReject: (reason: RejectReason) => void,
): Promise<UdpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | undefined, answer?: UdpAnswer) => {
      if (done) return;
      done = true;
      timer.cancel();
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = clock.setTimer(
      () => finish(new UpstreamTimeoutError(`no answer from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (err) =>
      finish(new UpstreamNetworkError(`udp ${host}:${port}: ${err.message}`, { cause: err })),
    );
    socket.on('message', (msg, rinfo) => {
      const verdict = rinfo.port !== port || rinfo.address !== host ? 'source' : checkResponse(msg, query, questionEnd);
      if (verdict === TRUNCATED) finish(undefined, { bytes: msg, scan: undefined });
      else if (isScan(verdict)) finish(undefined, { bytes: msg, scan: verdict });
      else onReject(verdict);
    });
    socket.send(query, port, host, (err) => {
      if (err) finish(new UpstreamNetworkError(`udp send to ${host}:${port}: ${err.message}`, { cause: err }));
    });
  });
}
