// A fake upstream DNS server on loopback for tests: dns2's own server (an independent codec), UDP and TCP on the
// same port, with a record table, a query log, and switches for outages.
import type { AddressInfo } from 'node:net';
import dns2 from 'dns2';
import { bindPair } from '../../src/server/index.js';
import type { Clock } from '../../src/util/clock.js';
import { listenDns } from './dns2-listen.js';

const { Packet } = dns2;

export interface ReceivedQuery {
  readonly name: string;
  readonly type: number;
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  readonly port: number;
}

/** What the fake does with a query: answer from the table, misbehave, or hold answers until release(). */
export type Mode = 'answer' | 'blackhole' | 'servfail' | 'refused' | 'hold';

export type Responder = (
  request: InstanceType<typeof Packet>,
  transport: 'udp' | 'tcp',
  rinfo: { address: string; port: number },
) => InstanceType<typeof Packet> | Buffer | null | undefined;

export interface FakeUpstream {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT", ready for --upstream or config. */
  readonly address: string;
  readonly queries: ReceivedQuery[];
  /** Queries received for `name` (case-insensitive), or all queries but ballast's loop checks. */
  count(name?: string): number;
  mode: Mode;
  /** Replaces the answer for one name and type. */
  set(name: string, type: number, records: object[]): void;
  /** Sends every answer held in `hold` mode and switches back to `answer`. */
  release(): void;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  /** Records by "name/TYPE-number"; names not present get NXDOMAIN with an SOA (TTL 60, MINIMUM 30). */
  records?: Record<string, object[]>;
  /** Takes precedence over the table when it returns something other than undefined. */
  respond?: Responder;
  /** Address to listen on: 127.0.0.1 unless a test joins a network namespace of its own. */
  host?: string;
  /** Zone apex used for the SOA in negative answers. */
  zone?: string;
  /** The path between ballast and this server: datagrams lost (each way, independently) and answers delayed. */
  network?: {
    /** Whether the next datagram is lost; called once per query and once per answer. */
    lose?: () => boolean;
    /** How long the answer to `name` takes (a cold recursion behind the server). */
    delayMs?: (name: string) => number;
  };
  /** The clock `delayMs` runs on: real time by default; a test's ManualClock puts the server on ballast's time. */
  clock?: Clock;
}

export const NEGATIVE_SOA_TTL = 60;
export const NEGATIVE_SOA_MINIMUM = 30;

/** An A record for the table. */
export const a = (name: string, address: string, ttl = 300) => ({ name, type: Packet.TYPE.A, class: 1, ttl, address });

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const records = new Map<string, object[]>();
  for (const [k, v] of Object.entries(opts.records ?? {})) records.set(k.toLowerCase(), v);
  const zone = opts.zone ?? 'test';
  const host = opts.host ?? '127.0.0.1';
  const queries: ReceivedQuery[] = [];
  const state = { mode: 'answer' as Mode, closed: false };
  const held: (() => void)[] = [];

  const handle =
    (transport: 'udp' | 'tcp') =>
    (
      request: InstanceType<typeof Packet>,
      send: (r: Buffer | InstanceType<typeof Packet>) => void,
      client: unknown,
    ) => {
      const rinfo = client as { address: string; port: number };
      const [q] = request.questions;
      if (transport === 'udp' && opts.network?.lose?.()) return; // lost on the way in
      const network = opts.network;
      if (network !== undefined) {
        const direct = send;
        send = (r) => {
          if (transport === 'udp' && network.lose?.()) return; // lost on the way back
          const delay = network.delayMs?.(q.name.toLowerCase()) ?? 0;
          const later = () => !state.closed && direct(r);
          if (delay <= 0) direct(r);
          else if (opts.clock !== undefined) opts.clock.setTimer(later, delay);
          else setTimeout(later, delay);
        };
      }
      queries.push({ name: q.name.toLowerCase(), type: q.type, transport, id: request.header.id, port: rinfo.port });
      if (state.mode === 'blackhole') return;
      if (state.mode === 'hold') {
        held.push(() => respond(request, send, rinfo, transport));
        return;
      }
      respond(request, send, rinfo, transport);
    };

  const respond = (
    request: InstanceType<typeof Packet>,
    send: (r: Buffer | InstanceType<typeof Packet>) => void,
    rinfo: { address: string; port: number },
    transport: 'udp' | 'tcp',
  ) => {
    const [q] = request.questions;
    const custom = opts.respond?.(request, transport, rinfo);
    if (custom === null) return;
    if (custom !== undefined) return send(custom);
    const response = Packet.createResponseFromRequest(request);
    response.header.ra = 1;
    if (state.mode === 'servfail' || state.mode === 'refused') {
      response.header.rcode = state.mode === 'servfail' ? 2 : 5;
      return send(response);
    }
    response.header.aa = 1;
    const found = records.get(`${q.name.toLowerCase()}/${q.type}`);
    const nameExists = [...records.keys()].some((k) => k.startsWith(`${q.name.toLowerCase()}/`));
    if (found) {
      response.answers.push(...found.map((r) => ({ ...r, name: q.name }) as never));
    } else {
      if (!nameExists) response.header.rcode = 3;
      response.authorities.push({
        name: zone,
        type: Packet.TYPE.SOA,
        class: 1,
        ttl: NEGATIVE_SOA_TTL,
        primary: `ns.${zone}`,
        admin: `hostmaster.${zone}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expiration: 86400,
        minimum: NEGATIVE_SOA_MINIMUM,
      } as never);
    }
    send(response);
  };

  const { udp, tcp, port } = await bindPair(
    0,
    async (p) => {
      const server = await listenDns(dns2.createServer({ udp: { type: 'udp4' }, handle: handle('udp') }), {
        udp: { port: p, address: host },
      });
      return { server, port: (server.addresses().udp as AddressInfo).port, close: () => server.close() };
    },
    (p) => listenDns(dns2.createServer({ tcp: true, handle: handle('tcp') }), { tcp: { port: p, address: host } }),
  );

  return {
    host,
    port,
    address: `${host}:${port}`,
    queries,
    // Without a name: every query but ballast's own loop checks (one per zone at start and at each reload), so a
    // test counts what clients caused. `queries` keeps them all.
    count: (name?: string) =>
      name === undefined
        ? queries.filter((q) => !q.name.startsWith('ballast-loop-')).length
        : queries.filter((q) => q.name === name.toLowerCase()).length,
    get mode() {
      return state.mode;
    },
    set mode(m: Mode) {
      state.mode = m;
    },
    set(name, type, recs) {
      records.set(`${name.toLowerCase()}/${type}`, recs);
    },
    release() {
      state.mode = 'answer';
      for (const f of held.splice(0)) f();
    },
    async close() {
      state.closed = true;
      await Promise.all([udp.close(), tcp.close()]);
    },
  };
}
