import { EDNS_DO, EDNS_OPTION_EDE, RrType } from './constants.js';

/** Size of an OPT record with empty RDATA: root name, type, class, TTL, RDLENGTH (RFC 6891 §6.1.2). */
export const OPT_HEADER_SIZE = 11;

/** Size of an EDE option without extra text: code, length, info-code (RFC 8914 §2). */
export const EDE_OPTION_SIZE = 6;

/** Writes an OPT record header at `at` with the given RDATA length; returns the offset past the header. */
export function writeOptHeader(
  out: Buffer,
  at: number,
  udpSize: number,
  extendedRcode: number,
  dnssecOk: boolean,
  rdlength: number,
): number {
  out[at] = 0;
  out.writeUInt16BE(RrType.OPT, at + 1);
  out.writeUInt16BE(udpSize, at + 3);
  out[at + 5] = extendedRcode;
  out[at + 6] = 0; // version 0
  out.writeUInt16BE(dnssecOk ? EDNS_DO : 0, at + 7);
  out.writeUInt16BE(rdlength, at + 9);
  return at + OPT_HEADER_SIZE;
}

/** Writes an Extended DNS Error option (RFC 8914 §2), with EXTRA-TEXT when given (ASCII); returns the offset past it. */
export function writeEde(out: Buffer, at: number, infoCode: number, text = ''): number {
  out.writeUInt16BE(EDNS_OPTION_EDE, at);
  out.writeUInt16BE(2 + text.length, at + 2);
  out.writeUInt16BE(infoCode, at + 4);
  out.write(text, at + EDE_OPTION_SIZE, 'latin1');
  return at + EDE_OPTION_SIZE + text.length;
}

/**
 * The info-code of the first Extended DNS Error option in the OPT record at `optStart…optEnd` of `msg` (RFC 8914),
 * with or without EXTRA-TEXT, or -1 when there is none. The OPT's RDATA starts 11 bytes in: root name, type, class,
 * TTL, RDLENGTH.
 */
export function edeCodeOf(msg: Buffer, optStart: number, optEnd: number): number {
  if (optStart < 0) return -1;
  for (let at = optStart + 11; at + 4 <= optEnd; ) {
    const code = msg.readUInt16BE(at);
    const length = msg.readUInt16BE(at + 2);
    if (code === EDNS_OPTION_EDE && length >= 2 && at + 6 <= optEnd) return msg.readUInt16BE(at + 4);
    at += 4 + length;
  }
  return -1;
}
