/** The query handler as the listeners see it (server/ does not depend on how queries are resolved). */
export type HandleQuery = (
  raw: Buffer,
  transport: 'udp' | 'tcp',
  /** The client's address: its flow in fair queuing. */
  client: string,
) => Buffer | null | Promise<Buffer | null>;
