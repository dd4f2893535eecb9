/** DNS wire constants (RFC 1035 §4.1, RFC 6891, RFC 8914). Only what ballast reads or writes. */

export const HEADER_SIZE = 12;

/** Largest DNS message: the TCP length prefix is 16 bits (RFC 1035 §4.2.2). */
export const MAX_MESSAGE_SIZE = 65535;

/** A UDP client without EDNS accepts at most 512 bytes (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

/** RFC 1035 §2.3.4. */
export const MAX_NAME_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891 §9): needs the OPT record's upper 8 bits. */
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  16: 'BADVERS',
};

export const RrType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SIG: 24,
  SRV: 33,
  OPT: 41,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

/** The classes a question can name (RFC 1035 §3.2.4, RFC 2136 §1.3, RFC 6895 §3.2). */
export const Qclass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** qtypes with their own metric label; anything else is counted as "other" to keep cardinality bounded. */
export const QTYPE_LABELS: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  35: 'NAPTR',
  43: 'DS',
  48: 'DNSKEY',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
  257: 'CAA',
};

export function qtypeLabel(qtype: number): string {
  return QTYPE_LABELS[qtype] ?? 'other';
}

export function rcodeLabel(rcode: number): string {
  return RCODE_NAMES[rcode] ?? 'other';
}

/** Header flag bits, as they sit in bytes 2–3 read as one big-endian 16-bit word. */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** EDNS: the DO bit in the OPT TTL field (RFC 3225), and option codes. */
export const EDNS_DO = 0x8000;
export const EDNS_OPTION_EDE = 15;

/** Extended DNS Error info-codes ballast emits (RFC 8914 §4). */
export const Ede = {
  OTHER: 0,
  STALE_ANSWER: 3,
  PROHIBITED: 18,
  STALE_NXDOMAIN: 19,
  NOT_READY: 14,
  NOT_AUTHORITATIVE: 20,
  NOT_SUPPORTED: 21,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
} as const;
