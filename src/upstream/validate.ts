import {
  answersQuestion,
  equalsIgnoreCase,
  Flag,
  HEADER_SIZE,
  MalformedMessageError,
  type ResponseScan,
  scanResponse,
} from '../wire/index.js';

/**
 * Why a datagram or frame from an upstream was not accepted as the answer (bounded metric label): another ID, another
 * question, unreadable, an answer section that does not answer the question (answersQuestion), over UDP larger than
 * the payload size ballast advertised (udp.ts), over TCP begun and never finished (tcp.ts).
 */
export type RejectReason = 'id' | 'question' | 'malformed' | 'answer' | 'oversize' | 'stalled';

const OPCODE = 0x7800;

/** The upstream set TC=1: the caller should ask again over TCP (RFC 7766 §5). */
export const TRUNCATED = 'truncated';

/**
 * docs/design.md §6: an answer is accepted only if it is a response, carries the ID we sent and the same question
 * (compared case-insensitively, RFC 4343), scans cleanly, and its answer section answers that question. The source address and port were checked before:
 * by the kernel for a connected UDP socket, by the connection for TCP.
 */
export function checkResponse(
  msg: Buffer,
  sent: Buffer,
  questionEnd: number,
): ResponseScan | typeof TRUNCATED | RejectReason {
  if (msg.length < questionEnd)
    return msg.length >= 2 && msg.readUInt16BE(0) !== sent.readUInt16BE(0) ? 'id' : 'malformed';
  if (msg.readUInt16BE(0) !== sent.readUInt16BE(0)) return 'id';
  const flags = msg.readUInt16BE(2);
  // A response carries the query's opcode (RFC 1035 §4.1.1); one with another is no answer to it, and its opcode
  // would reach every client served from it.
  if (!(flags & Flag.QR) || (flags & OPCODE) !== (sent.readUInt16BE(2) & OPCODE)) return 'malformed';
  if (msg.readUInt16BE(4) !== 1) return 'question';
  const nameLength = questionEnd - 4 - HEADER_SIZE;
  if (
    !equalsIgnoreCase(msg, HEADER_SIZE, sent, HEADER_SIZE, nameLength) ||
    msg.readUInt32BE(questionEnd - 4) !== sent.readUInt32BE(questionEnd - 4)
  ) {
    return 'question';
  }
  if (flags & Flag.TC) return TRUNCATED;
  let scan: ResponseScan;
  try {
    scan = scanResponse(msg);
  } catch (err) {
    if (err instanceof MalformedMessageError) return 'malformed';
    throw err;
  }
  return answersQuestion(msg, scan) ? scan : 'answer';
}

export function isScan(v: ResponseScan | string): v is ResponseScan {
  return typeof v !== 'string';
}
