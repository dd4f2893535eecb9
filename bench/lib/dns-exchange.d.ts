// Types of bench/lib/dns-exchange.js for the TypeScript tests (test/helpers/client.ts re-exports both).

/** The first UDP answer with the query's ID, or null after `waitMs`; rejects on a socket error. */
export function udpExchange(
  port: number,
  msg: Buffer,
  waitMs?: number,
  host?: string,
  from?: string,
): Promise<Buffer | null>;

/** `expect` answers to framed `msgs` on one new TCP connection; rejects on an error or after `waitMs`. */
export function tcpExchange(
  port: number,
  msgs: Buffer[],
  expect?: number,
  host?: string,
  waitMs?: number,
): Promise<Buffer[]>;

/** Many queries from one UDP socket bound to `from`; one result per message, in order (see dns-exchange.js). */
export function udpBulk(
  port: number,
  msgs: Buffer[],
  opts?: { from?: string; host?: string; waitMs?: number; schedule?: number[] },
): Promise<{ answer: Buffer | null; ms: number | null }[]>;
