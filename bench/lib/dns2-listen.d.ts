// Types of bench/lib/dns2-listen.js for the TypeScript tests (test/helpers/upstream.ts).
import type dns2 from 'dns2';

type DnsServer = ReturnType<typeof dns2.createServer>;

export function listenDns(server: DnsServer, opts: Parameters<DnsServer['listen']>[0]): Promise<DnsServer>;
