import { Compound, OP } from '@/lib/nfs/nfs4-compound';
import { XdrError, type XdrReader } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';

/**
 * NFSv4 COMPOUND replies written the way a server writes them (RFC 7530,
 * RFC 8881), field by field with XdrWriter, for the decoding tests. Each
 * scenario builds the Compound the client would have sent, the reply body,
 * and what the client must read from it. Attribute bitmaps are written as
 * literal words here (not with lib/nfs's bitmap()), so a wrong bit order in
 * the client shows up.
 */

/** The operation SEQUENCE the session layer puts first (4.1+); the type of Compound.decode's second argument. */
export type FirstOp = NonNullable<Parameters<Compound['decode']>[1]>;

/** RPC reply header: xid, REPLY(1), MSG_ACCEPTED(0), verifier AUTH_NONE(0) with no body, SUCCESS(0); then the body. */
export function acceptedReply(xid: number, body: Buffer): Buffer {
  const w = new XdrWriter(32);
  w.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
  return Buffer.concat([w.finish(), body]);
}

export type OpReply = { op: number; status?: number; body?: (w: XdrWriter) => void };

/** COMPOUND4res: status (the last operation's unless given), tag, resarray { op, status, result if OK }. */
export function compoundReply(ops: OpReply[], tag = ''): Buffer {
  const w = new XdrWriter(256);
  w.u32(ops.at(-1)?.status ?? 0).string(tag).u32(ops.length);
  for (const o of ops) {
    w.u32(o.op).u32(o.status ?? 0);
    if (!o.status) o.body?.(w);
  }
  return w.finish();
}

/** fattr4: bitmap words as given, then the values as one opaque. */
export function fattr(w: XdrWriter, words: number[], values: (v: XdrWriter) => void): void {
  w.u32(words.length);
  for (const x of words) w.u32(x);
  const v = new XdrWriter(64);
  values(v);
  w.opaque(v.finish());
}

/** nfstime4 */
function time(w: XdrWriter, seconds: bigint, nanos: number): void {
  w.fixed(Buffer.from(BigInt.asUintN(64, seconds).toString(16).padStart(16, '0'), 'hex')).u32(nanos);
}

function changeInfo(w: XdrWriter, atomic: boolean, before: bigint, after: bigint): void {
  w.bool(atomic).u64(before).u64(after);
}

function stateid(w: XdrWriter, seqid: number, other: Buffer): void {
  w.u32(seqid).fixed(other);
}

/** nfsace4: type, flag, mask, who */
function ace(w: XdrWriter, who: string): void {
  w.u32(0).u32(0).u32(0x1).string(who);
}

// Bits (RFC 7530 §5): type 1, size 4, rdattr_error 11 (word 0); time_modify 53 = bit 21 of word 1.
const TYPE = 1 << 1;
const SIZE = 1 << 4;
const RDATTR_ERROR = 1 << 11;
const TIME_MODIFY = 1 << 21;

export const SESSION_ID = Buffer.from('0123456789abcdef');
export const FH = Buffer.from('a file handle of 27 bytes!!');
export const ROOT_FH = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
export const OPEN_OTHER = Buffer.from('open-state12');
export const DELEG_OTHER = Buffer.from('delegation12');
export const VERIFIER = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);
export const READ_DATA = Buffer.from('thirteen byte');

function sequenceReply(slot: number, seqid: number): OpReply {
  return { op: OP.SEQUENCE, body: (w) => w.fixed(SESSION_ID).u32(seqid).u32(slot).u32(63).u32(63).u32(0) };
}

/** SEQUENCE as nfs4-session.ts decodes it, recording what it read. */
function sequenceOp(into: { seqid?: number; slot?: number }): FirstOp {
  return {
    code: OP.SEQUENCE,
    encode: () => undefined,
    decode: (r: XdrReader) => {
      if (!r.fixed(16, 'the session id').equals(SESSION_ID)) throw new XdrError('a reply for another session');
      into.seqid = r.u32();
      into.slot = r.u32();
      r.u32();
      r.u32();
      r.u32();
    },
  };
}

export type Built = { c: Compound; first?: FirstOp; values: () => unknown };

export type Scenario = {
  name: string;
  body: Buffer;
  build: () => Built;
  /** What the client reads from the reply, or the status error it throws. */
  expected: { values: unknown } | { error: { status: number; op: string } };
};

const noent = { op: OP.LOOKUP, status: 2 };

export const scenarios: Scenario[] = [
  {
    name: 'PUTFH + LOOKUP + LOOKUP + GETFH + GETATTR (type, size, time_modify), 4.0',
    body: compoundReply(
      [
        { op: OP.PUTFH },
        { op: OP.LOOKUP },
        { op: OP.LOOKUP },
        { op: OP.GETFH, body: (w) => w.opaque(FH) },
        {
          op: OP.GETATTR,
          body: (w) =>
            fattr(w, [TYPE | SIZE, TIME_MODIFY], (v) => {
              v.u32(1).u64(2n ** 40n + 5n);
              time(v, 1772368496n, 789_123_456);
            }),
        },
      ],
      'stat',
    ),
    build: () => {
      const c = new Compound('stat');
      c.putfh(ROOT_FH);
      c.lookup('backups');
      c.lookup('2026');
      const fh = c.getfh();
      const attrs = c.getattr([TYPE | SIZE, TIME_MODIFY]);
      return { c, values: () => ({ fh: fh.value, attrs: attrs.value }) };
    },
    expected: { values: { fh: FH, attrs: { type: 1, size: 2 ** 40 + 5, timeModifyMs: Date.parse('2026-03-01T12:34:56.789Z') } } },
  },
  {
    name: 'SEQUENCE + PUTFH + READDIR with four entries and eof, 4.1',
    body: compoundReply([
      sequenceReply(3, 17),
      { op: OP.PUTFH },
      {
        op: OP.READDIR,
        body: (w) => {
          w.fixed(VERIFIER);
          const entry = (cookie: bigint, name: string, values: (v: XdrWriter) => void, words = [TYPE | SIZE | RDATTR_ERROR, TIME_MODIFY]) => {
            w.bool(true).u64(cookie).string(name);
            fattr(w, words, values);
          };
          entry(3n, 'a.txt', (v) => {
            v.u32(1).u64(12).u32(0);
            time(v, 1772368496n, 0);
          });
          entry(7n, 'folder', (v) => {
            v.u32(2).u64(4096).u32(0);
            time(v, -2n, 500_000_000);
          });
          entry(2n ** 63n + 1n, 'ünï cødé ✓.bin', (v) => {
            v.u32(1).u64(0).u32(0);
            time(v, 0n, 999_999_999);
          });
          // A server may answer only rdattr_error for an entry it cannot read.
          entry(2n ** 64n - 1n, 'gone', (v) => v.u32(13), [RDATTR_ERROR]);
          w.bool(false).bool(true);
        },
      },
    ]),
    build: () => {
      const c = new Compound('list');
      const seq: { seqid?: number; slot?: number } = {};
      c.putfh(ROOT_FH);
      const list = c.readdir(0n, Buffer.alloc(8), 8192, 32768, [TYPE | SIZE | RDATTR_ERROR, TIME_MODIFY]);
      return { c, first: sequenceOp(seq), values: () => ({ seq, ...list.value }) };
    },
    expected: {
      values: {
        seq: { seqid: 17, slot: 3 },
        verifier: VERIFIER,
        entries: [
          { cookie: 3n, name: 'a.txt', attrs: { type: 1, size: 12, rdattrError: 0, timeModifyMs: Date.parse('2026-03-01T12:34:56.000Z') } },
          { cookie: 7n, name: 'folder', attrs: { type: 2, size: 4096, rdattrError: 0, timeModifyMs: Date.parse('1969-12-31T23:59:58.500Z') } },
          { cookie: 2n ** 63n + 1n, name: 'ünï cødé ✓.bin', attrs: { type: 1, size: 0, rdattrError: 0, timeModifyMs: Date.parse('1970-01-01T00:00:00.999Z') } },
          { cookie: 2n ** 64n - 1n, name: 'gone', attrs: { rdattrError: 13 } },
        ],
        eof: true,
      },
    },
  },
  {
    name: 'SEQUENCE + PUTFH + OPEN (create, no delegation) + GETFH, 4.1',
    body: compoundReply([
      sequenceReply(0, 1),
      { op: OP.PUTFH },
      {
        op: OP.OPEN,
        body: (w) => {
          stateid(w, 1, OPEN_OTHER);
          changeInfo(w, true, 100n, 101n);
          w.u32(0x4); // OPEN4_RESULT_LOCKTYPE_POSIX
          w.u32(2).u32(0).u32(1 << 1); // attrset: mode (33)
          w.u32(0); // OPEN_DELEGATE_NONE
        },
      },
      { op: OP.GETFH, body: (w) => w.opaque(FH) },
    ]),
    build: () => {
      const c = new Compound('create');
      c.putfh(ROOT_FH);
      const open = c.open({ seqid: 0, access: 2, clientid: 5n, owner: Buffer.from('owner'), name: 'new.bin', create: { mode: 0o600 } });
      const fh = c.getfh();
      return { c, first: sequenceOp({}), values: () => ({ open: open.value, fh: fh.value }) };
    },
    expected: { values: { open: { stateid: { seqid: 1, other: OPEN_OTHER }, rflags: 0x4, delegation: null }, fh: FH } },
  },
  {
    name: 'PUTFH + OPEN with a read delegation + GETFH, 4.0',
    body: compoundReply([
      { op: OP.PUTFH },
      {
        op: OP.OPEN,
        body: (w) => {
          stateid(w, 2, OPEN_OTHER);
          changeInfo(w, false, 7n, 7n);
          w.u32(0x2); // OPEN4_RESULT_CONFIRM
          w.u32(0); // empty attrset
          w.u32(1); // OPEN_DELEGATE_READ
          stateid(w, 9, DELEG_OTHER);
          w.bool(false);
          ace(w, 'EVERYONE@');
        },
      },
      { op: OP.GETFH, body: (w) => w.opaque(FH) },
    ]),
    build: () => {
      const c = new Compound('open');
      c.putfh(ROOT_FH);
      const open = c.open({ seqid: 0, access: 1, clientid: 5n, owner: Buffer.from('owner'), name: 'old.bin' });
      const fh = c.getfh();
      return { c, values: () => ({ open: open.value, fh: fh.value }) };
    },
    expected: { values: { open: { stateid: { seqid: 2, other: OPEN_OTHER }, rflags: 0x2, delegation: { seqid: 9, other: DELEG_OTHER } }, fh: FH } },
  },
  {
    name: 'PUTFH + OPEN with a write delegation limited by size, 4.0',
    body: compoundReply([
      { op: OP.PUTFH },
      {
        op: OP.OPEN,
        body: (w) => {
          stateid(w, 1, OPEN_OTHER);
          changeInfo(w, true, 1n, 2n);
          w.u32(0);
          w.u32(1).u32(0);
          w.u32(2); // OPEN_DELEGATE_WRITE
          stateid(w, 3, DELEG_OTHER);
          w.bool(true);
          w.u32(1).u64(2n ** 62n); // NFS_LIMIT_SIZE, filesize
          ace(w, 'OWNER@');
        },
      },
    ]),
    build: () => {
      const c = new Compound('open');
      c.putfh(ROOT_FH);
      const open = c.open({ seqid: 0, access: 3, clientid: 5n, owner: Buffer.from('owner'), name: 'rw.bin' });
      return { c, values: () => open.value };
    },
    expected: { values: { stateid: { seqid: 1, other: OPEN_OTHER }, rflags: 0, delegation: { seqid: 3, other: DELEG_OTHER } } },
  },
  {
    name: 'SEQUENCE + PUTFH + OPEN with OPEN_DELEGATE_NONE_EXT (contention), 4.1',
    body: compoundReply([
      sequenceReply(1, 2),
      { op: OP.PUTFH },
      {
        op: OP.OPEN,
        body: (w) => {
          stateid(w, 1, OPEN_OTHER);
          changeInfo(w, true, 1n, 2n);
          w.u32(0).u32(0);
          w.u32(3).u32(1).bool(false); // NONE_EXT, WND4_CONTENTION, server_will_push_deleg
        },
      },
    ]),
    build: () => {
      const c = new Compound('open');
      c.putfh(ROOT_FH);
      const open = c.open({ seqid: 0, access: 1, clientid: 5n, owner: Buffer.from('owner'), name: 'x' });
      return { c, first: sequenceOp({}), values: () => open.value };
    },
    expected: { values: { stateid: { seqid: 1, other: OPEN_OTHER }, rflags: 0, delegation: null } },
  },
  {
    name: 'SEQUENCE + PUTFH + WRITE, 4.2',
    body: compoundReply([
      sequenceReply(5, 99),
      { op: OP.PUTFH },
      { op: OP.WRITE, body: (w) => w.u32(5000).u32(2).fixed(VERIFIER) },
    ]),
    build: () => {
      const c = new Compound('write');
      c.putfh(FH);
      const wr = c.write({ seqid: 1, other: OPEN_OTHER }, 1 << 20, Buffer.alloc(5000, 7));
      return { c, first: sequenceOp({}), values: () => wr.value };
    },
    expected: { values: { count: 5000, committed: 2, verifier: VERIFIER } },
  },
  {
    name: 'SEQUENCE + PUTFH + READ of 13 bytes at the end of the file, 4.1',
    body: compoundReply([sequenceReply(2, 4), { op: OP.PUTFH }, { op: OP.READ, body: (w) => w.bool(true).opaque(READ_DATA) }]),
    build: () => {
      const c = new Compound('read');
      c.putfh(FH);
      const rd = c.read({ seqid: 1, other: OPEN_OTHER }, 0, 1 << 16);
      return { c, first: sequenceOp({}), values: () => rd.value };
    },
    expected: { values: { eof: true, data: READ_DATA } },
  },
  {
    name: 'PUTFH + SAVEFH + PUTFH + RENAME, then REMOVE, 4.0',
    body: compoundReply([
      { op: OP.PUTFH },
      { op: OP.SAVEFH },
      { op: OP.PUTFH },
      { op: OP.RENAME, body: (w) => (changeInfo(w, true, 1n, 2n), changeInfo(w, true, 3n, 4n)) },
      { op: OP.REMOVE, body: (w) => changeInfo(w, false, 10n, 11n) },
    ]),
    build: () => {
      const c = new Compound('rename');
      c.putfh(ROOT_FH);
      c.savefh();
      c.putfh(FH);
      const rn = c.rename('a', 'b');
      const rm = c.remove('b');
      return { c, values: () => ({ rename: rn.value, remove: rm.value }) };
    },
    expected: { values: { rename: undefined, remove: { atomic: false, before: 10n, after: 11n } } },
  },
  {
    name: 'PUTFH + LOOKUP failing with NFS4ERR_NOENT (GETFH and GETATTR not run), 4.0',
    body: compoundReply([{ op: OP.PUTFH }, noent]),
    build: () => {
      const c = new Compound('stat');
      c.putfh(ROOT_FH);
      c.lookup('missing');
      const fh = c.getfh();
      const attrs = c.getattr([TYPE]);
      return { c, values: () => ({ fh: fh.value, attrs: attrs.value }) };
    },
    expected: { error: { status: 2, op: 'LOOKUP' } },
  },
  {
    name: 'SEQUENCE failing with NFS4ERR_BADSESSION, 4.1',
    body: compoundReply([{ op: OP.SEQUENCE, status: 10052 }]),
    build: () => {
      const c = new Compound('list');
      c.putfh(ROOT_FH);
      const fh = c.getfh();
      return { c, first: sequenceOp({}), values: () => fh.value };
    },
    expected: { error: { status: 10052, op: 'SEQUENCE' } },
  },
];

/** Decodes a COMPOUND reply body (after the RPC header) for a scenario: its values, or the error thrown. */
export function runScenario(sc: Scenario, r: XdrReader): unknown {
  const b = sc.build();
  b.c.decode(r, b.first);
  return b.values();
}

/** xorshift32: a small deterministic PRNG, so every run tests the same cases. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
