import { UpstreamNetworkError } from '../errors.js';
import type { Answer, Zone } from '../upstream/index.js';
import { Flag, HEADER_SIZE, OPT_HEADER_SIZE, type Query, writeOptHeader } from '../wire/index.js';

/**
 * The query ballast sends upstream for a cache key: RD=1, the client's CD bit, its question, and an OPT record of
 * ballast's own with the key's DO bit. Client EDNS options (cookies, padding) are hop-by-hop and stay behind, so an
 * answer depends only on the cache key and can be shared by every client with that key.
 */
export function upstreamQuery(q: Query, udpSize: number): Buffer {
  const questionLength = q.questionEnd - HEADER_SIZE;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + OPT_HEADER_SIZE);
  out.writeUInt16BE(0, 0);
  out.writeUInt16BE(Flag.RD | (q.checkingDisabled ? Flag.CD : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(1, 10);
  q.raw.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  writeOptHeader(out, q.questionEnd, udpSize, 0, q.dnssecOk, 0);
  return out;
}

/**
 * Asks the zone's upstreams for `q`: the selector's first choice, then — if that one fails and there is another —
 * one retry on the next (RFC 9520 §3.1 allows at most two). Each attempt gets a private copy of the query.
 */
export async function forward(q: Query, zone: Zone, udpSize: number): Promise<Answer> {
  const order = zone.selector.order(zone.upstreams);
  if (order.length === 0) throw new UpstreamNetworkError(`zone ${zone.name} has no upstreams`);
  const query = upstreamQuery(q, udpSize);
  try {
    return await order[0].exchange(Buffer.from(query), q.questionEnd, zone.protocol, zone.timeoutMs);
  } catch (err) {
    if (order.length < 2) throw err;
    return order[1].exchange(Buffer.from(query), q.questionEnd, zone.protocol, zone.timeoutMs);
  }
}
