import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { AbandonedError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.js';
import type { Cancel } from '../util/cancel.js';
import { afterPendingIo, type Clock } from '../util/clock.js';
import type { ResponseScan } from '../wire/index.js';
import { checkResponse, isScan, type RejectReason, TRUNCATED } from './validate.js';

export interface UdpAnswer {
  readonly bytes: Buffer;
  /** undefined when the upstream set TC=1. */
  readonly scan: ResponseScan | undefined;
}

/**
 * One UDP exchange on a socket of its own, connected to the upstream: the kernel picks a random source port for it
 * (RFC 5452 §4.5) and drops datagrams from any other address or port; being connected, the socket also hears the
 * ICMP errors (port unreachable → ECONNREFUSED) that tell a dead upstream from a slow one. The ID was randomised by
 * the caller. Anything that is not the answer — wrong ID or question, or garbage — is counted through `onReject`
 * and ignored while the wait goes on (docs/design.md §6).
 *
 * An answer larger than the payload size the query advertised is counted as `oversize`: a server that honours EDNS
 * never sends one, and one that big has most likely crossed the network in IP fragments, whose later fragments an
 * off-path attacker can forge (RFC 9715 §3.2 lets a requestor drop it). With `oversize: 'truncated'` it is taken as a
 * TC=1 answer, so the caller asks again over TCP; with 'ignore' (a UDP-only upstream) the wait goes on.
 */
export function udpExchange(
  host: string,
  port: number,
  query: Buffer,
  questionEnd: number,
  timeoutMs: number,
  clock: Clock,
  onReject: (reason: RejectReason) => void,
  signal?: Cancel,
  oversize: 'truncated' | 'ignore' = 'truncated',
): Promise<UdpAnswer> {
  return new Promise((resolve, reject) => {
    if (signal?.cancelled) {
      reject(new AbandonedError(`udp ${host}:${port}: abandoned`));
      return;
    }
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    let done = false;
    let off = noop;
    const finish = (err: Error | undefined, answer?: UdpAnswer) => {
      if (done) return;
      done = true;
      timer.cancel();
      off();
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = clock.setTimer(
      () =>
        afterPendingIo(() => finish(new UpstreamTimeoutError(`no answer from ${host}:${port} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    off = signal?.onCancel(() => finish(new AbandonedError(`udp ${host}:${port}: abandoned`))) ?? noop;
    socket.on('error', (err) =>
      finish(new UpstreamNetworkError(`udp ${host}:${port}: ${err.message}`, { cause: err })),
    );
    const limit = advertisedSize(query, questionEnd);
    socket.on('message', (msg) => {
      const verdict = checkResponse(msg, query, questionEnd);
      if ((verdict === TRUNCATED || isScan(verdict)) && msg.length > limit) {
        onReject('oversize');
        if (oversize === 'truncated') finish(undefined, { bytes: msg, scan: undefined });
      } else if (verdict === TRUNCATED) finish(undefined, { bytes: msg, scan: undefined });
      else if (isScan(verdict)) finish(undefined, { bytes: msg, scan: verdict });
      else onReject(verdict);
    });
    socket.connect(port, host, () => {
      if (done) return;
      socket.send(query, (err) => {
        if (err) finish(new UpstreamNetworkError(`udp send to ${host}:${port}: ${err.message}`, { cause: err }));
      });
    });
  });
}

const noop = () => {};

/** The UDP payload size in the OPT record that follows the question of ballast's own query (RFC 6891 §6.2.5). */
function advertisedSize(query: Buffer, questionEnd: number): number {
  if (query.length < questionEnd + 11 || query.readUInt16BE(questionEnd + 1) !== 41) return 512;
  return Math.max(query.readUInt16BE(questionEnd + 3), 512);
}

/** Whether an error says the upstream is unreachable (refused, no route, reset), not merely slow or busy. */
export function isUnreachable(err: unknown): boolean {
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ECONNRESET';
}
