/** Something bound to a port that can be let go again. */
export interface Bound {
  readonly port: number;
  close(): Promise<unknown>;
}

/** How many times a port-0 pair is picked again before giving up. */
const PAIR_ATTEMPTS = 10;

/**
 * Binds a UDP socket and a TCP server on the same port. With port 0 the kernel picks UDP's port, and TCP may find
 * that port already taken by someone else (a race seen in CI): then both are let go and the pair is picked again.
 * A fixed port that is taken fails at once. Used by the listeners, the tests' fake upstreams and the benchmarks.
 */
export async function bindPair<U extends Bound, T>(
  port: number,
  bindUdp: (port: number) => Promise<U>,
  bindTcp: (port: number) => Promise<T>,
): Promise<{ udp: U; tcp: T; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(port);
    try {
      return { udp, tcp: await bindTcp(udp.port), port: udp.port };
    } catch (err) {
      await udp.close();
      const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !taken || attempt >= PAIR_ATTEMPTS) throw err;
    }
  }
}
