/** A listen address: host and port. IPv6 hosts are written "[::1]:5353" in config and flags. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
