// The numbers of DNS types, classes and rcodes that the conformance probes use, and their names for the report.
// Shared by the message writer (build.js), the reader (parse.js), the fake upstream and the report.

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  RRSIG: 46,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
};
export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };
const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];
const byNumber = (table) => new Map(Object.entries(table).map(([k, v]) => [v, k]));
const TYPE_NAMES = byNumber(TYPE);
const CLASS_NAMES = byNumber(CLASS);

export const typeName = (n) => TYPE_NAMES.get(n) ?? `TYPE${n}`;
export const className = (n) => CLASS_NAMES.get(n) ?? `CLASS${n}`;
export const rcodeName = (n) => RCODE_NAMES[n] ?? (n === 16 ? 'BADVERS' : `RCODE${n}`);

/** EDNS option code of Extended DNS Errors (RFC 8914). */
export const EDE_OPTION = 15;
