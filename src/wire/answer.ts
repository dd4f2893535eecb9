import { HEADER_SIZE, RrType } from './constants.js';
import { lowerName, readName, skipName } from './name.js';
import type { ResponseScan } from './scan.js';

const DNAME = 39;
const RRSIG = 46;
/** QCLASS ANY and NONE (RFC 1035 §3.2.5, RFC 2136 §1.3): no record carries them. */
const QCLASS_NONE = 254;
const QCLASS_ANY = 255;

/**
 * Whether every record in the answer section of a scanned response belongs to the answer to its question
 * (RFC 1034 §4.3.2, RFC 2181 §5.4.1): owned by the qname or by a name its CNAME chain leads to, of the question's type
 * (or a CNAME, or a signature), and of its class; a DNAME (RFC 6672 §2.3) may be owned by an ancestor of such a name.
 * Anything else — an A record for another name next to the real answer, a TXT record answering an A query — is data
 * the upstream had no business sending for this question: the answer is rejected, as a forged one would be
 * (docs/design.md §6), rather than cached and handed to every pod that asks. The question must be readable and
 * uncompressed, as in every answer checkResponse accepts.
 */
export function answersQuestion(buf: Buffer, scan: ResponseScan): boolean {
  if (scan.ancount === 0) return true;
  if (scan.qdcount !== 1) return false;
  return plainAnswer(buf, scan) || chainAnswers(buf, scan);
}

/**
 * The common case, without reading a name: every answer record is owned by a pointer to the question's name and is
 * of its type and class.
 */
function plainAnswer(buf: Buffer, scan: ResponseScan): boolean {
  const qend = scan.questionEnd;
  const typeAndClass = buf.readUInt32BE(qend - 4);
  let pos = qend;
  for (let i = 0; i < scan.ancount; i++) {
    if (buf.readUInt16BE(pos) !== (0xc000 | HEADER_SIZE) || buf.readUInt32BE(pos + 2) !== typeAndClass) return false;
    pos += 12 + buf.readUInt16BE(pos + 10);
  }
  return true;
}

function chainAnswers(buf: Buffer, scan: ResponseScan): boolean {
  const qend = scan.questionEnd;
  const chain = new Set([lowerName(buf, HEADER_SIZE, qend - 4)]);
  const qtype = buf.readUInt16BE(qend - 4);
  const qclass = buf.readUInt16BE(qend - 2);
  // Meta-types (RFC 6895 §3.1: 128–255) are answered with records of other types.
  const anyType = qtype >= 128 && qtype <= 255;
  const records: { owner: string; type: number; target?: string }[] = [];
  let pos = qend;
  for (let i = 0; i < scan.ancount; i++) {
    const owner = readName(buf, pos);
    const at = skipName(buf, pos);
    const type = buf.readUInt16BE(at);
    const rdata = at + 10;
    const next = rdata + buf.readUInt16BE(at + 8);
    if (owner === undefined) return false;
    if (qclass !== QCLASS_ANY && qclass !== QCLASS_NONE && buf.readUInt16BE(at + 2) !== qclass) return false;
    if (!anyType && type !== qtype && type !== RrType.CNAME && type !== DNAME && type !== RRSIG) return false;
    records.push({ owner, type, target: type === RrType.CNAME ? readName(buf, rdata, next) : undefined });
    pos = next;
  }
  // Follow the CNAME chain from the qname, in whatever order the records came (each pass adds at least one link).
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of records) {
      if (r.target !== undefined && chain.has(r.owner) && !chain.has(r.target)) {
        chain.add(r.target);
        grew = true;
      }
    }
  }
  return records.every(
    (r) => chain.has(r.owner) || ((r.type === DNAME || r.type === RRSIG) && aboveChain(r.owner, chain)),
  );
}

/** Whether `owner` (cache-key form) is a proper ancestor of a name in `chain`. */
function aboveChain(owner: string, chain: Set<string>): boolean {
  for (const name of chain)
    if (name.length > owner.length && name.endsWith(owner) && isLabelStart(name, owner)) return true;
  return false;
}

/** Whether `suffix` starts on a label boundary of `name` (wire form: walk the length bytes). */
function isLabelStart(name: string, suffix: string): boolean {
  const start = name.length - suffix.length;
  let pos = 0;
  while (pos < start) pos += name.charCodeAt(pos) + 1;
  return pos === start;
}
