import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BindServer, bindAvailable, E2E, startBind } from '../helpers/bind.js';
import { digAt, parseDig, txtStrings } from '../helpers/dig.js';

const available = bindAvailable();
const inCi = Boolean(process.env.CI);

// In CI a missing BIND fails the run rather than skipping the e2e tests below.
if (!available && inCi) {
  describe('BIND e2e prerequisites', () => {
    it('bind9 and dnsutils are installed', () => {
      throw new Error('bind9/dnsutils not installed; .ci/run installs them');
    });
  });
}

describe.skipIf(!available)(
  `BIND e2e helper${available ? '' : ' (SKIPPED: named/dig not found; apt-get install bind9 dnsutils)'}`,
  () => {
    let bind: BindServer;

    beforeAll(async () => {
      bind = await startBind();
    }, 30_000);

    afterAll(async () => {
      await bind?.stop();
    }, 15_000);

    async function q(...args: string[]) {
      const res = await digAt(bind.port, args);
      expect(res.code, `dig ${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0);
      return parseDig(res.stdout);
    }

    it('serves the SOA authoritatively, without recursion', async () => {
      const r = await q(E2E.zone, 'SOA');
      expect(r.status).toBe('NOERROR');
      expect(r.opcode).toBe('QUERY');
      expect(r.id).toBeTypeOf('number');
      expect(r.flags).toEqual(expect.arrayContaining(['qr', 'aa']));
      expect(r.flags).not.toContain('ra');
      expect(r.question).toEqual([{ name: `${E2E.zone}.`, class: 'IN', type: 'SOA' }]);
      expect(r.answers).toEqual([
        { name: `${E2E.zone}.`, ttl: E2E.soaTtl, class: 'IN', type: 'SOA', data: E2E.soa.data },
      ]);
      expect(r.transport).toBe('UDP');
    });

    it('refuses names outside its zones (does not recurse)', async () => {
      const r = await q('example.com', 'A');
      expect(r.status).toBe('REFUSED');
      expect(r.answers).toEqual([]);
    });

    it('A and AAAA', async () => {
      const a = await q(E2E.a.name, 'A');
      expect(a.answers).toEqual([
        { name: `${E2E.a.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'A', data: E2E.a.a },
      ]);
      const aaaa = await q(E2E.a.name, 'AAAA');
      expect(aaaa.answers).toEqual([
        { name: `${E2E.a.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'AAAA', data: E2E.a.aaaa },
      ]);
    });

    it('SRV, with the target address in additional', async () => {
      const r = await q(E2E.srv.name, 'SRV');
      expect(r.answers).toEqual([
        { name: `${E2E.srv.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'SRV', data: E2E.srv.data },
      ]);
      expect(r.additional).toContainEqual({
        name: E2E.srv.target,
        ttl: E2E.defaultTtl,
        class: 'IN',
        type: 'A',
        data: E2E.a.a,
      });
    });

    it('TXT', async () => {
      const r = await q(E2E.txt.name, 'TXT');
      expect(r.answers).toEqual([
        { name: `${E2E.txt.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'TXT', data: E2E.txt.data },
      ]);
      expect(txtStrings(r.answers[0].data)).toEqual([E2E.txt.text]);
    });

    it('MX, with the exchange address in additional', async () => {
      const r = await q(E2E.mx.name, 'MX');
      expect(r.answers).toEqual([
        { name: `${E2E.mx.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'MX', data: E2E.mx.data },
      ]);
      expect(r.additional).toContainEqual({
        name: `${E2E.mail.name}.`,
        ttl: E2E.defaultTtl,
        class: 'IN',
        type: 'A',
        data: E2E.mail.a,
      });
    });

    it('CAA', async () => {
      const r = await q(E2E.caa.name, 'CAA');
      expect(r.answers).toEqual([
        { name: `${E2E.caa.name}.`, ttl: E2E.defaultTtl, class: 'IN', type: 'CAA', data: E2E.caa.data },
      ]);
    });

    it('unknown type 65280 (RFC 3597)', async () => {
      const r = await q(E2E.unknown.name, E2E.unknown.typeName);
      expect(r.answers).toHaveLength(1);
      expect(r.answers[0]).toMatchObject({
        name: `${E2E.unknown.name}.`,
        ttl: E2E.defaultTtl,
        class: 'IN',
        type: E2E.unknown.typeName,
      });
      expect(r.answers[0].data.toLowerCase()).toBe(`\\# 4 ${E2E.unknown.rdataHex}`);
    });

    it('mixed-case owner name answers a lower-case query', async () => {
      const r = await q(E2E.mixed.name.toLowerCase(), 'A');
      expect(r.status).toBe('NOERROR');
      expect(r.question[0].name).toBe(`${E2E.mixed.name.toLowerCase()}.`);
      expect(r.answers).toHaveLength(1);
      expect(r.answers[0].name.toLowerCase()).toBe(`${E2E.mixed.name.toLowerCase()}.`);
      expect(r.answers[0]).toMatchObject({ ttl: E2E.defaultTtl, type: 'A', data: E2E.mixed.a });
    });

    it('short-TTL record', async () => {
      const r = await q(E2E.short.name, 'A');
      expect(r.answers).toEqual([
        { name: `${E2E.short.name}.`, ttl: E2E.short.ttl, class: 'IN', type: 'A', data: E2E.short.a },
      ]);
    });

    it('big TXT: TC=1 over UDP without EDNS and with EDNS 1232', async () => {
      const plain = await q(E2E.big.name, 'TXT', '+noedns', '+ignore');
      expect(plain.flags).toContain('tc');
      expect(plain.answers).toEqual([]);
      expect(plain.edns).toBeUndefined();
      expect(plain.transport).toBe('UDP');

      const edns = await q(E2E.big.name, 'TXT', '+ignore');
      expect(edns.edns?.udp).toBe(1232);
      expect(edns.flags).toContain('tc');
      expect(edns.answers).toEqual([]);
    });

    it('big TXT: full answer over TCP (and dig falls back to TCP on TC)', async () => {
      const r = await q(E2E.big.name, 'TXT', '+tcp');
      expect(r.transport).toBe('TCP');
      expect(r.flags).not.toContain('tc');
      expect(r.answers).toHaveLength(1);
      expect(r.answers[0]).toMatchObject({ name: `${E2E.big.name}.`, ttl: E2E.defaultTtl, type: 'TXT' });
      expect(txtStrings(r.answers[0].data)).toEqual(E2E.big.strings);
      expect(r.msgSize).toBeGreaterThan(1232);
      expect(r.msgSize).toBeLessThan(1600);

      const fallback = await q(E2E.big.name, 'TXT', '+noedns');
      expect(fallback.transport).toBe('TCP');
      expect(txtStrings(fallback.answers[0].data)).toEqual(E2E.big.strings);
    });

    it('NXDOMAIN carries the SOA in authority with the negative TTL', async () => {
      const r = await q(E2E.missing.name, 'A');
      expect(r.status).toBe('NXDOMAIN');
      expect(r.flags).toContain('aa');
      expect(r.answers).toEqual([]);
      expect(r.authority).toEqual([
        { name: `${E2E.zone}.`, ttl: E2E.negativeTtl, class: 'IN', type: 'SOA', data: E2E.soa.data },
      ]);
    });

    it('NODATA carries the SOA in authority with the negative TTL', async () => {
      const r = await q(E2E.a.name, 'TXT');
      expect(r.status).toBe('NOERROR');
      expect(r.answers).toEqual([]);
      expect(r.authority).toEqual([
        { name: `${E2E.zone}.`, ttl: E2E.negativeTtl, class: 'IN', type: 'SOA', data: E2E.soa.data },
      ]);
    });

    it('serves extra zones, and stop() kills named and removes its dir', async () => {
      const extra = await startBind({
        zones: {
          'extra.test': [
            '$TTL 30',
            '@ IN SOA ns.extra.test. hostmaster.extra.test. 7 3600 600 86400 10',
            '@ IN NS ns',
            'ns IN A 127.0.0.1',
            'www IN A 198.51.100.1',
          ].join('\n'),
        },
      });
      expect(extra.port).not.toBe(bind.port);
      try {
        const www = parseDig((await digAt(extra.port, ['www.extra.test', 'A'])).stdout);
        expect(www.answers).toEqual([
          { name: 'www.extra.test.', ttl: 30, class: 'IN', type: 'A', data: '198.51.100.1' },
        ]);
        const def = parseDig((await digAt(extra.port, [E2E.a.name, 'A'])).stdout);
        expect(def.answers[0]?.data).toBe(E2E.a.a);
      } finally {
        await extra.stop();
      }
      expect(existsSync(extra.dir)).toBe(false);
      expect(() => process.kill(extra.pid, 0)).toThrow();
      const gone = await digAt(extra.port, [E2E.a.name, 'A', '+time=1', '+tries=1']);
      expect(gone.code).toBe(9);
      await extra.stop(); // idempotent
    }, 30_000);

    it('startBind throws with named stderr when a zone is broken', async () => {
      await expect(
        startBind({
          zones: { 'broken.test': '$TTL 30\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN A not-an-address\n' },
          startTimeoutMs: 5000,
        }),
      ).rejects.toThrow(/named stderr[\s\S]*broken\.test/);
    }, 30_000);
  },
);
