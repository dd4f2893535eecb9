// The realistic answer mix of the footprint and mixed-load benchmarks, shared by bench/upstream.js (which answers
// it) and the scripts (which ask it and compute the sizes ballast stores). Shaped like a cluster's DNS traffic:
// service names of cluster length, mostly A and AAAA, SRV with its target's address, a few multi-address services
// and a few large answers.
//
//   name index i → `name<i>.ns-<i % 50>.svc.bench.test`, qtype by i % 100:
//     0–59  A     one address                    60–79 AAAA  one address
//     80–94 SRV   one target (the name itself) with its A record in the additional section
//     95–98 A     four addresses                 99    TXT   four 250-byte strings (a large answer, about 1 KB)
//
// The upstream's answers carry TTL 3600; the answer to any other qtype of a mix name is NODATA.

export const MIX_SUFFIX = 'svc.bench.test';

/** The name and qtype of mix entry `i`. */
export function mixQuestion(i) {
  const r = i % 100;
  const type = r < 60 ? 'A' : r < 80 ? 'AAAA' : r < 95 ? 'SRV' : r < 99 ? 'A' : 'TXT';
  return { name: `name${i}.ns-${i % 50}.${MIX_SUFFIX}`, type };
}

/** A records in the answer to `nameN… A`: four for the multi-address services, else one. */
export const addressCount = (n) => (n % 100 >= 95 && n % 100 < 99 ? 4 : 1);

export const TXT_STRINGS = 4;
export const TXT_STRING_LENGTH = 250;

/** Wire length of a name (labels with their length bytes, plus the root). */
const wireLength = (name) => name.length + 2;

/**
 * The size of the message ballast stores for mix entry `i`: header, question, records; no OPT (ballast keeps the
 * stored form without the upstream's OPT record). Names in records are compression pointers to the question.
 */
export function storedSize(i) {
  const { name, type } = mixQuestion(i);
  const question = wireLength(name) + 4;
  const rr = (rdata) => 2 + 10 + rdata;
  let records;
  if (type === 'A') records = addressCount(i) * rr(4);
  else if (type === 'AAAA') records = rr(16);
  else if (type === 'SRV') records = rr(6 + 2) + rr(4);
  else records = rr(TXT_STRINGS * (1 + TXT_STRING_LENGTH));
  return 12 + question + records;
}

/** dnsperf query lines for mix entries [from, to). */
export function mixLines(from, to) {
  const lines = [];
  for (let i = from; i < to; i++) {
    const { name, type } = mixQuestion(i);
    lines.push(`${name} ${type}`);
  }
  return lines;
}

/** Mean stored message size over mix entries [from, to). */
export function meanStoredSize(from, to) {
  let sum = 0;
  for (let i = from; i < to; i++) sum += storedSize(i);
  return sum / (to - from);
}
