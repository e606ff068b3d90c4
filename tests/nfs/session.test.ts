import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Compound } from '@/lib/nfs/nfs4-compound';
import { Nfs4Session } from '@/lib/nfs/nfs4-session';
import { RecordParser, frameRecord } from '@/lib/nfs/rpc-record';
import { XdrWriter } from '@/lib/nfs/xdr-writer';

/**
 * Sessions against a scripted server that grants two slots and then stops
 * answering (or hangs up): callers waiting for a slot must fail within their
 * deadline, and all of them must fail when the connection goes, never wait
 * forever.
 */
const SID = Buffer.from('0123456789abcdef');

function reply(xid: number, body: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(256);
  // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (flavor, empty body), SUCCESS
  w.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
  body(w);
  return frameRecord(w.finish());
}

let server: net.Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** Answers EXCHANGE_ID, CREATE_SESSION (2 slots) and RECLAIM_COMPLETE, then `after` for every later call. */
async function scripted(after: 'silent' | 'hang up'): Promise<number> {
  let n = 0;
  server = net.createServer((s) => {
    s.on('error', () => undefined);
    const p = new RecordParser(1 << 22);
    s.on('data', (c: Buffer) => {
      for (const rec of p.push(c)) {
        const xid = rec.readUInt32BE(0);
        n++;
        if (n === 1) {
          // EXCHANGE_ID: clientid, sequenceid, flags, SP4_NONE, server_owner, scope, impl_id<>
          s.write(reply(xid, (w) => w.u32(0).string('').u32(1).u32(42).u32(0).u64(1n).u32(1).u32(0).u32(0).u64(0n).opaque(Buffer.from('srv')).opaque(Buffer.from('srv')).u32(0)));
        } else if (n === 2) {
          // CREATE_SESSION: sessionid, sequence, flags, fore channel (2 requests), back channel
          s.write(
            reply(xid, (w) => {
              w.u32(0).string('').u32(1).u32(43).u32(0).fixed(SID).u32(1).u32(0);
              w.u32(0).u32(1 << 21).u32(1 << 21).u32(8192).u32(16).u32(2).u32(0);
              w.u32(0).u32(4096).u32(4096).u32(0).u32(2).u32(1).u32(0);
            }),
          );
        } else if (n === 3) {
          // SEQUENCE + RECLAIM_COMPLETE
          s.write(reply(xid, (w) => w.u32(0).string('').u32(2).u32(53).u32(0).fixed(SID).u32(1).u32(0).u32(1).u32(1).u32(0).u32(58).u32(0)));
        } else if (after === 'hang up') s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server!.address() as net.AddressInfo).port;
}

describe('Nfs4Session slot table', () => {
  for (const after of ['silent', 'hang up'] as const) {
    it(`fails every caller, also those waiting for a slot, when the server is ${after === 'silent' ? 'silent' : 'gone'}`, async () => {
      const port = await scripted(after);
      const session = await Nfs4Session.start({ host: '127.0.0.1', port, minor: 1, timeoutMs: 400, maxIo: 1 << 20 });
      const t0 = Date.now();
      const outcomes = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          session.send(new Compound(`call ${i}`)).then(
            () => 'answered',
            (e: { code?: string }) => e.code,
          ),
        ),
      );
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(outcomes.every((o) => o === 'ETIMEDOUT' || o === 'ECONNRESET')).toBe(true);
      if (after === 'silent') expect(outcomes).toContain('ETIMEDOUT');
      // Later calls fail at once on the dead connection.
      const t1 = Date.now();
      await expect(session.send(new Compound('later'))).rejects.toMatchObject({ name: 'ConnectionError' });
      expect(Date.now() - t1).toBeLessThan(100);
      await session.close();
    });
  }
});
