import { describe, expect, it } from 'vitest';
import { NfsError } from '@/lib/nfs/errors';
import { Compound, OP } from '@/lib/nfs/nfs4-compound';
import { Nfs4StatusError } from '@/lib/nfs/nfs4-status';
import { decodeReply, RpcError } from '@/lib/nfs/rpc-message';
import { frameRecord, RecordParser } from '@/lib/nfs/rpc-record';
import { XdrError } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';
import { acceptedReply, compoundReply, FH, ROOT_FH, runScenario, scenarios, type Scenario } from './replies';

const XID = 0x1234abcd;

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** What decoding a record gives: the values, or the error's class, status, operation and message. */
function outcome(sc: Scenario, record: Buffer): unknown {
  try {
    return { values: runScenario(sc, decodeReply(record)) };
  } catch (err) {
    const e = err as Nfs4StatusError;
    return { error: { name: e.name, status: e.status, op: e.op, message: e.message } };
  }
}

describe('COMPOUND replies as a server writes them', () => {
  it.each(scenarios.map((sc) => [sc.name, sc] as const))('decodes %s', (_name, sc) => {
    const record = acceptedReply(XID, sc.body);
    const r = decodeReply(record);
    if ('values' in sc.expected) {
      expect(runScenario(sc, r)).toEqual(sc.expected.values);
      expect(r.remaining).toBe(0);
    } else {
      const { status, op } = sc.expected.error;
      const thrown = thrownBy(() => runScenario(sc, r));
      expect(thrown).toBeInstanceOf(Nfs4StatusError);
      expect(thrown).toMatchObject({ status, op });
      expect((thrown as Error).message).toContain(`from ${op}`);
    }
  });

  it.each(scenarios.map((sc) => [sc.name, sc] as const))('decodes %s the same however TCP splits the framed reply', (_name, sc) => {
    const record = acceptedReply(XID, sc.body);
    const framed = frameRecord(record);
    const want = outcome(sc, record);
    expect(want).toEqual('values' in sc.expected ? { values: sc.expected.values } : { error: expect.objectContaining(sc.expected.error) });
    for (let cut = 0; cut <= framed.length; cut++) {
      const parser = new RecordParser(1 << 20);
      const records = [...parser.push(framed.subarray(0, cut)), ...parser.push(framed.subarray(cut))];
      expect(records, `split at ${cut}`).toHaveLength(1);
      expect(outcome(sc, records[0]!), `split at ${cut}`).toEqual(want);
    }
  });

  it('names the failed operation and fills only the results before it', () => {
    const c = new Compound('stat');
    const put = c.putfh(ROOT_FH);
    c.lookup('missing');
    const fh = c.getfh();
    const body = compoundReply([{ op: OP.PUTFH }, { op: OP.LOOKUP, status: 2 }]);
    const thrown = thrownBy(() => c.decode(decodeReply(acceptedReply(XID, body))));
    expect(thrown).toBeInstanceOf(Nfs4StatusError);
    const e = thrown as Nfs4StatusError;
    expect(e.code).toBe('NFS4ERR_NOENT');
    expect(e.message).toBe('no such file or folder (NFS4ERR_NOENT from LOOKUP)');
    expect(put.value).toBeUndefined();
    expect(() => fh.value).toThrow(/compound stopped before it/);
    expect(NfsError.from('nfs://h/x', 'stat "a"', e)).toMatchObject({ code: 'NFS4ERR_NOENT', message: 'nfs://h/x: stat "a" failed: no such file or folder (NFS4ERR_NOENT from LOOKUP)' });
  });

  it('reports a failed compound with no results as a COMPOUND error', () => {
    const w = new XdrWriter().u32(10021).string('').u32(0); // NFS4ERR_MINOR_VERS_MISMATCH, no results
    const c = new Compound();
    c.putrootfh();
    expect(() => c.decode(decodeReply(acceptedReply(XID, w.finish())))).toThrow(/NFS4ERR_MINOR_VERS_MISMATCH from COMPOUND/);
  });

  it('refuses replies that do not match the request with XdrError', () => {
    const make = () => {
      const c = new Compound();
      c.putfh(FH);
      c.getfh();
      return c;
    };
    const cases: [Buffer, RegExp][] = [
      // a result for another operation than was sent
      [compoundReply([{ op: OP.PUTFH }, { op: OP.GETATTR, body: (w) => w.u32(0).u32(0) }]), /operation 9 where 10 was sent/],
      // more results than operations
      [compoundReply([{ op: OP.PUTFH }, { op: OP.GETFH, body: (w) => w.opaque(FH) }, { op: OP.GETFH, body: (w) => w.opaque(FH) }]), /3 results for 2 operations/],
      // NFS4_OK with fewer results than operations
      [compoundReply([{ op: OP.PUTFH }]), /1 results for 2 operations/],
      // a file handle longer than NFS4_FHSIZE (128)
      [compoundReply([{ op: OP.PUTFH }, { op: OP.GETFH, body: (w) => w.opaque(Buffer.alloc(129)) }]), /a file handle is longer than 128 bytes/],
    ];
    for (const [body, words] of cases) {
      const thrown = thrownBy(() => make().decode(decodeReply(acceptedReply(XID, body))));
      expect(thrown).toBeInstanceOf(XdrError);
      expect((thrown as Error).message).toMatch(words);
    }
  });

  it.each([0x80000000, 0xfffffffd])('refuses READ data claiming %i bytes when the READ asked for up to 2^32-1', (claimed) => {
    const c = new Compound();
    c.putfh(FH);
    const rd = c.read({ seqid: 1, other: Buffer.alloc(12) }, 0, 0xffffffff);
    const body = compoundReply([{ op: OP.PUTFH }, { op: OP.READ, body: (w) => w.bool(false).u32(claimed).u32(1).u32(2) }]);
    const thrown = thrownBy(() => c.decode(decodeReply(acceptedReply(XID, body))));
    expect(thrown).toBeInstanceOf(XdrError);
    expect((thrown as Error).message).toBe('the reply ends inside read data');
    expect(() => rd.value).toThrow();
  });

  it('refuses attributes that were not asked for and values longer than the bitmap says', () => {
    const getattr = (words: number[], values: Buffer) => {
      const w = new XdrWriter();
      w.u32(0).string('').u32(2).u32(OP.PUTFH).u32(0).u32(OP.GETATTR).u32(0).u32(words.length);
      for (const x of words) w.u32(x);
      w.opaque(values);
      const c = new Compound();
      c.putfh(FH);
      c.getattr([]);
      return () => c.decode(decodeReply(acceptedReply(XID, w.finish())));
    };
    expect(getattr([1 << 2], Buffer.alloc(8))).toThrow(/attribute 2, which was not asked for/); // fh_expire_type
    expect(getattr([1 << 1], Buffer.alloc(8))).toThrow(/longer than their bitmap says/);
    expect(getattr([1 << 1], Buffer.alloc(0))).toThrow(/ends inside the file type/);
    expect(getattr([0, 1 << 21], Buffer.from('000000000000000000000000', 'hex').fill(0xff, 8))).toThrow(/more than 10\^9 nanoseconds/);
  });
});

describe('RPC replies that are not SUCCESS', () => {
  const rpc = (...words: number[]) => {
    const w = new XdrWriter();
    for (const x of words) w.u32(x);
    return w.finish();
  };

  it.each([
    ['RPC_MISMATCH (denied)', rpc(XID, 1, 1, 0, 2, 2), 'RPC_MISMATCH', /does not speak RPC version 2/],
    ['AUTH_ERROR AUTH_TOOWEAK (denied)', rpc(XID, 1, 1, 1, 5), 'AUTH_ERROR', /refused the credentials: .*AUTH_SYS not allowed/],
    ['AUTH_ERROR AUTH_BADCRED (denied)', rpc(XID, 1, 1, 1, 1), 'AUTH_ERROR', /refused the credentials: bad credentials/],
    ['AUTH_ERROR with an unknown auth status (denied)', rpc(XID, 1, 1, 1, 99), 'AUTH_ERROR', /auth status 99/],
    ['PROG_MISMATCH (accepted)', rpc(XID, 1, 0, 0, 0, 2, 2, 3), 'PROG_MISMATCH', /does not offer this NFS version \(it offers versions 2 to 3\)/],
    ['PROG_UNAVAIL (accepted)', rpc(XID, 1, 0, 0, 0, 1), 'PROG_UNAVAIL', /does not offer NFS/],
    ['GARBAGE_ARGS (accepted)', rpc(XID, 1, 0, 0, 0, 4), 'GARBAGE_ARGS', /could not decode the request/],
    ['an unknown accept status', rpc(XID, 1, 0, 0, 0, 77), 'RPC_ERROR', /RPC status 77/],
  ])('turns %s into an RpcError with words', (_name, record, code, words) => {
    const thrown = thrownBy(() => decodeReply(record));
    expect(thrown).toBeInstanceOf(RpcError);
    expect(thrown).toMatchObject({ code });
    expect((thrown as Error).message).toMatch(words);
    expect(NfsError.from('nfs://h/x', 'connect', thrown).code).toBe(code);
  });

  it('skips a non-empty reply verifier before the results', () => {
    const w = new XdrWriter().u32(XID).u32(1).u32(0).u32(1).opaque(Buffer.from('verifier!')).u32(0).u32(42);
    expect(decodeReply(w.finish()).u32()).toBe(42);
  });

  it.each([
    ['a CALL instead of a REPLY', rpc(XID, 0, 2, 100003, 4, 1), /not a reply/],
    ['an unknown reply status', rpc(XID, 1, 2), /unknown reply status 2/],
    ['an unknown reject status', rpc(XID, 1, 1, 2), /unknown reject status 2/],
    ['PROG_MISMATCH without its versions', rpc(XID, 1, 0, 0, 0, 2), /ends inside/],
    ['a verifier longer than 400 bytes', rpc(XID, 1, 0, 0, 401), /the verifier is longer than 400 bytes/],
    ['a reply cut inside the header', rpc(XID, 1), /ends inside the reply status/],
  ])('refuses %s with XdrError', (_name, record, words) => {
    const thrown = thrownBy(() => decodeReply(record));
    expect(thrown).toBeInstanceOf(XdrError);
    expect((thrown as Error).message).toMatch(words);
  });
});
