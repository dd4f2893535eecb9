import { Flag, HEADER_SIZE } from './constants.js';
import { EDE_OPTION_SIZE, OPT_HEADER_SIZE, writeEde, writeOptHeader } from './edns.js';

/** What a synthesized reply needs to know about the query it answers. */
export interface ReplyTarget {
  readonly raw: Buffer;
  /** Offset past the question, or 0 when the question could not be read (then it is not echoed). */
  readonly questionEnd: number;
  readonly edns: boolean;
  readonly dnssecOk?: boolean;
}

export interface SynthOptions {
  /** EDE info-code to attach (only when the client sent EDNS, RFC 8914 §3). */
  readonly ede?: number;
  /** EDE EXTRA-TEXT, for the codes that need one (RFC 8914 §4.1: Other). ASCII. */
  readonly edeText?: string;
  /** The UDP payload size ballast advertises in its OPT record. */
  readonly udpSize: number;
  /** Header flag bits to set besides QR, e.g. TC; RD and CD are copied from the query. */
  readonly extraFlags?: number;
}

/**
 * Builds a reply that carries only a header, the client's own question bytes (when readable) and, for an EDNS
 * client, an OPT record: errors (FORMERR, NOTIMP, SERVFAIL, REFUSED, BADVERS) and TC=1 truncation answers.
 */
export function synthesize(target: ReplyTarget, rcode: number, opts: SynthOptions): Buffer {
  const hasQuestion = target.questionEnd > HEADER_SIZE;
  const questionLength = hasQuestion ? target.questionEnd - HEADER_SIZE : 0;
  const withEde = target.edns && opts.ede !== undefined;
  const edeLength = withEde ? EDE_OPTION_SIZE + (opts.edeText?.length ?? 0) : 0;
  const optLength = target.edns ? OPT_HEADER_SIZE + edeLength : 0;
  const out = Buffer.allocUnsafe(HEADER_SIZE + questionLength + optLength);
  const queryFlags = target.raw.readUInt16BE(2);
  // Keep the opcode, RD and CD of the query (RFC 1035 §4.1.1); RA because ballast offers recursion.
  const flags = Flag.QR | (queryFlags & 0x7800) | (queryFlags & (Flag.RD | Flag.CD)) | Flag.RA | (opts.extraFlags ?? 0);
  target.raw.copy(out, 0, 0, 2);
  out.writeUInt16BE(flags | (rcode & 0xf), 2);
  out.writeUInt16BE(hasQuestion ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(target.edns ? 1 : 0, 10);
  if (hasQuestion) target.raw.copy(out, HEADER_SIZE, HEADER_SIZE, target.questionEnd);
  if (target.edns) {
    const at = writeOptHeader(
      out,
      HEADER_SIZE + questionLength,
      opts.udpSize,
      rcode >> 4,
      target.dnssecOk === true,
      edeLength,
    );
    if (withEde) writeEde(out, at, opts.ede!, opts.edeText);
  }
  return out;
}
