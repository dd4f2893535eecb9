import { Counter, Gauge, type Registry } from '../observe/prom.js';

export type ServerMetrics = ReturnType<typeof createServerMetrics>;

export function createServerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    tcpConnections: new Gauge({
      name: 'ballast_tcp_connections',
      help: 'Client TCP connections open now.',
      registers,
    }),
    tcpRejected: new Counter({
      name: 'ballast_tcp_connections_rejected_total',
      help: 'Client TCP connections refused because the connection cap was reached.',
      registers,
    }),
    tcpClosed: new Counter({
      name: 'ballast_tcp_connections_closed_total',
      help: 'Client TCP connections closed by ballast, by reason (idle, error, framing, shutdown).',
      labelNames: ['reason'] as const,
      registers,
    }),
    sendErrors: new Counter({
      name: 'ballast_send_errors_total',
      help: 'Replies that could not be sent to a client, by transport.',
      labelNames: ['protocol'] as const,
      registers,
    }),
  };
}
