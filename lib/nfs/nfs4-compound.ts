import { readAttrs, readBitmap, writeAttrs, writeBitmap, type Attrs } from './nfs4-attrs';
import { NFS4_OK, Nfs4StatusError } from './nfs4-status';
import { XdrError, type XdrReader } from './xdr-reader';
import type { XdrWriter } from './xdr-writer';

/**
 * NFSv4 COMPOUND (RFC 7530 §16.2, RFC 8881 §18.x): the only procedure (1)
 * besides NULL (0).
 *
 *   COMPOUND4args = tag utf8str_cs, minorversion u32, argarray<> { op u32, args }
 *   COMPOUND4res  = status nfsstat4, tag, resarray<> { op u32, status nfsstat4, result if NFS4_OK }
 *
 * The server runs the operations in order and stops at the first that
 * fails; that one's result (status only) is the last in resarray. A
 * Compound collects operations, each with its encoder and the decoder of
 * its result; `Result<T>` holders are filled when the reply is decoded.
 * Layouts of each operation's arguments and results are written next to it.
 */
export const OP = {
  ACCESS: 3,
  CLOSE: 4,
  COMMIT: 5,
  CREATE: 6,
  DELEGRETURN: 8,
  GETATTR: 9,
  GETFH: 10,
  LINK: 11,
  LOOKUP: 15,
  OPEN: 18,
  OPEN_CONFIRM: 20,
  PUTFH: 22,
  PUTROOTFH: 24,
  READ: 25,
  READDIR: 26,
  REMOVE: 28,
  RENAME: 29,
  RENEW: 30,
  SAVEFH: 32,
  SETCLIENTID: 35,
  SETCLIENTID_CONFIRM: 36,
  WRITE: 38,
  EXCHANGE_ID: 42,
  CREATE_SESSION: 43,
  DESTROY_SESSION: 44,
  SEQUENCE: 53,
  DESTROY_CLIENTID: 57,
  RECLAIM_COMPLETE: 58,
} as const;

const OP_NAMES = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k])) as Record<number, string>;
export const NFS4_FHSIZE = 128;
export const NFS4_OPAQUE_LIMIT = 1024;
const NAME_MAX = 4096;

export const ACCESS = { READ: 0x01, LOOKUP: 0x02, MODIFY: 0x04, EXTEND: 0x08, DELETE: 0x10, EXECUTE: 0x20 } as const;

/** stateid4 = seqid u32, other opaque[12] */
export type StateId = { seqid: number; other: Buffer };
export type ChangeInfo = { atomic: boolean; before: bigint; after: bigint };
export type DirEntry = { cookie: bigint; name: string; attrs: Attrs };

export class Result<T> {
  private v: T | undefined;
  private set = false;
  fill(v: T): void {
    this.v = v;
    this.set = true;
  }
  get value(): T {
    if (!this.set) throw new Error('the operation has no result (the compound stopped before it)');
    return this.v as T;
  }
}

type Op = { code: number; encode: (w: XdrWriter) => void; decode: (r: XdrReader) => void };

export function writeStateId(w: XdrWriter, s: StateId): void {
  w.u32(s.seqid).fixed(s.other);
}

export function readStateId(r: XdrReader): StateId {
  return { seqid: r.u32('a state id'), other: Buffer.from(r.fixed(12, 'a state id')) };
}

function readChangeInfo(r: XdrReader): ChangeInfo {
  return { atomic: r.bool('change info'), before: r.u64big('change info'), after: r.u64big('change info') };
}

export class Compound {
  readonly ops: Op[] = [];

  constructor(readonly tag = '') {}

  private add<T>(code: number, encode: (w: XdrWriter) => void, decode?: (r: XdrReader) => T): Result<T> {
    const result = new Result<T>();
    this.ops.push({ code, encode, decode: (r) => result.fill(decode ? decode(r) : (undefined as T)) });
    return result;
  }

  /** Which operations, for errors: "PUTFH, LOOKUP, OPEN". */
  get names(): string {
    return this.ops.map((o) => OP_NAMES[o.code]).join(', ');
  }

  putrootfh(): Result<void> {
    return this.add(OP.PUTROOTFH, () => undefined);
  }

  putfh(fh: Buffer): Result<void> {
    return this.add(OP.PUTFH, (w) => w.opaque(fh));
  }

  lookup(name: string): Result<void> {
    return this.add(OP.LOOKUP, (w) => w.string(name));
  }

  getfh(): Result<Buffer> {
    return this.add(OP.GETFH, () => undefined, (r) => Buffer.from(r.opaque(NFS4_FHSIZE, 'a file handle')));
  }

  savefh(): Result<void> {
    return this.add(OP.SAVEFH, () => undefined);
  }

  getattr(bits: number[]): Result<Attrs> {
    return this.add(OP.GETATTR, (w) => writeBitmap(w, bits), readAttrs);
  }

  /** ACCESS: answers which of the asked rights the server supports checking, and which are granted. */
  access(mask: number): Result<{ supported: number; access: number }> {
    return this.add(OP.ACCESS, (w) => w.u32(mask), (r) => ({ supported: r.u32('access'), access: r.u32('access') }));
  }

  /**
   * READDIR args: cookie u64, cookieverf opaque[8], dircount u32, maxcount u32, attr_request bitmap4
   * result: cookieverf opaque[8], entries (value_follows bool, entry4 { cookie u64, name, fattr4 })*, eof bool
   */
  readdir(cookie: bigint, verifier: Buffer, dircount: number, maxcount: number, bits: number[]): Result<{ verifier: Buffer; entries: DirEntry[]; eof: boolean }> {
    return this.add(
      OP.READDIR,
      (w) => {
        w.u64(cookie).fixed(verifier).u32(dircount).u32(maxcount);
        writeBitmap(w, bits);
      },
      (r) => {
        const v = Buffer.from(r.fixed(8, 'the cookie verifier'));
        const entries: DirEntry[] = [];
        while (r.bool('a folder entry')) {
          entries.push({ cookie: r.u64big('a cookie'), name: r.string(NAME_MAX, 'a name'), attrs: readAttrs(r) });
        }
        return { verifier: v, entries, eof: r.bool('the end-of-folder flag') };
      },
    );
  }

  /** CREATE of a folder: createtype4 { NF4DIR }, objname, createattrs. result: change_info4, attrset bitmap4 */
  mkdir(name: string, mode: number): Result<ChangeInfo> {
    return this.add(
      OP.CREATE,
      (w) => {
        w.u32(2).string(name);
        writeAttrs(w, { mode });
      },
      (r) => {
        const ci = readChangeInfo(r);
        readBitmap(r);
        return ci;
      },
    );
  }

  remove(name: string): Result<ChangeInfo> {
    return this.add(OP.REMOVE, (w) => w.string(name), readChangeInfo);
  }

  /** LINK: a new name in the current folder for the saved object (SAVEFH). result: change_info4 */
  link(name: string): Result<ChangeInfo> {
    return this.add(OP.LINK, (w) => w.string(name), readChangeInfo);
  }

  /** RENAME: from the saved folder handle (SAVEFH) to the current one. */
  rename(from: string, to: string): Result<void> {
    return this.add(
      OP.RENAME,
      (w) => w.string(from).string(to),
      (r) => {
        readChangeInfo(r);
        readChangeInfo(r);
      },
    );
  }

  /**
   * OPEN args: seqid u32, share_access u32, share_deny u32, open_owner4 { clientid u64, owner opaque<> },
   *   openflag4 { opentype u32 (0 NOCREATE | 1 CREATE: createhow4 { mode u32 (1 GUARDED), createattrs fattr4 }) },
   *   open_claim4 { CLAIM_NULL(0): file component4 }
   * result: stateid4, change_info4, rflags u32, attrset bitmap4, open_delegation4
   */
  open(o: { seqid: number; access: number; clientid: bigint; owner: Buffer; name: string; create?: { mode: number } }): Result<OpenResult> {
    return this.add(
      OP.OPEN,
      (w) => {
        w.u32(o.seqid).u32(o.access).u32(0).u64(o.clientid).opaque(o.owner);
        if (o.create) {
          w.u32(1).u32(1);
          writeAttrs(w, { mode: o.create.mode });
        } else w.u32(0);
        w.u32(0).string(o.name);
      },
      (r) => {
        const stateid = readStateId(r);
        readChangeInfo(r);
        const rflags = r.u32('open flags');
        readBitmap(r);
        return { stateid, rflags, delegation: readDelegation(r) };
      },
    );
  }

  /** OPEN_CONFIRM (4.0 only): open_stateid, seqid. result: stateid4 */
  openConfirm(stateid: StateId, seqid: number): Result<StateId> {
    return this.add(
      OP.OPEN_CONFIRM,
      (w) => {
        writeStateId(w, stateid);
        w.u32(seqid);
      },
      readStateId,
    );
  }

  /** CLOSE: seqid, open_stateid. result: stateid4 */
  close(seqid: number, stateid: StateId): Result<StateId> {
    return this.add(
      OP.CLOSE,
      (w) => {
        w.u32(seqid);
        writeStateId(w, stateid);
      },
      readStateId,
    );
  }

  delegreturn(stateid: StateId): Result<void> {
    return this.add(OP.DELEGRETURN, (w) => writeStateId(w, stateid));
  }

  /** WRITE: stateid, offset u64, stable u32 (0 UNSTABLE), data opaque<>. result: count u32, committed u32, writeverf opaque[8] */
  write(stateid: StateId, offset: number, data: Buffer, stable = 0): Result<{ count: number; committed: number; verifier: Buffer }> {
    return this.add(
      OP.WRITE,
      (w) => {
        writeStateId(w, stateid);
        w.u64(offset).u32(stable).opaqueRef(data);
      },
      (r) => ({ count: r.u32('the write count'), committed: r.u32('the write stability'), verifier: Buffer.from(r.fixed(8, 'the write verifier')) }),
    );
  }

  /** COMMIT: offset u64, count u32 (0, 0: the whole file). result: writeverf opaque[8] */
  commit(): Result<Buffer> {
    return this.add(OP.COMMIT, (w) => w.u64(0).u32(0), (r) => Buffer.from(r.fixed(8, 'the write verifier')));
  }

  /** READ: stateid, offset u64, count u32. result: eof bool, data opaque<> */
  read(stateid: StateId, offset: number, count: number): Result<{ eof: boolean; data: Buffer }> {
    return this.add(
      OP.READ,
      (w) => {
        writeStateId(w, stateid);
        w.u64(offset).u32(count);
      },
      (r) => {
        const eof = r.bool('the end-of-file flag');
        const data = r.opaque(count, 'read data');
        return { eof, data };
      },
    );
  }

  /** Any operation whose arguments the session layer encodes (SETCLIENTID, EXCHANGE_ID, ...). */
  raw<T>(code: number, encode: (w: XdrWriter) => void, decode?: (r: XdrReader) => T): Result<T> {
    return this.add(code, encode, decode);
  }

  /** Encodes COMPOUND4args; `first` (SEQUENCE) goes before the operations. */
  encode(w: XdrWriter, minorVersion: number, first?: Op): void {
    w.string(this.tag).u32(minorVersion).u32(this.ops.length + (first ? 1 : 0));
    for (const op of first ? [first, ...this.ops] : this.ops) {
      w.u32(op.code);
      op.encode(w);
    }
  }

  /**
   * Decodes COMPOUND4res into the Result holders. Throws Nfs4StatusError
   * for the operation that failed (or the compound's status if none did),
   * XdrError for a reply that does not match the request.
   */
  decode(r: XdrReader, first?: Op): void {
    const status = r.u32('the compound status');
    r.string(NFS4_OPAQUE_LIMIT, 'the tag');
    const ops = first ? [first, ...this.ops] : this.ops;
    const n = r.count('the results', 8);
    if (n > ops.length || (status === NFS4_OK && n !== ops.length)) throw new XdrError(`${n} results for ${ops.length} operations`);
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      const code = r.u32('an operation code');
      if (code !== op.code) throw new XdrError(`a result for operation ${code} where ${op.code} was sent`);
      const s = r.u32('an operation status');
      if (s !== NFS4_OK) throw new Nfs4StatusError(s, OP_NAMES[code] ?? String(code));
      op.decode(r);
    }
    if (status !== NFS4_OK) throw new Nfs4StatusError(status, n === 0 ? 'COMPOUND' : OP_NAMES[ops[n - 1]!.code]!);
  }
}

export type OpenResult = { stateid: StateId; rflags: number; delegation: StateId | null };
export const OPEN4_RESULT_CONFIRM = 0x2;
export const OPEN4_SHARE_ACCESS = { READ: 1, WRITE: 2, BOTH: 3 } as const;

/** open_delegation4: NONE(0) | READ(1) {stateid, recall, nfsace4} | WRITE(2) {stateid, recall, space_limit4, nfsace4} | NONE_EXT(3) {why, [bool]} */
function readDelegation(r: XdrReader): StateId | null {
  const type = r.u32('the delegation type');
  if (type === 0) return null;
  if (type === 3) {
    const why = r.u32('the delegation reason');
    if (why === 1 || why === 2) r.bool('the delegation reason');
    return null;
  }
  if (type !== 1 && type !== 2) throw new XdrError(`an unknown delegation type ${type}`);
  const stateid = readStateId(r);
  r.bool('the delegation recall flag');
  if (type === 2) {
    const limitBy = r.u32('the space limit');
    if (limitBy === 1) r.u64big('the space limit');
    else if (limitBy === 2) {
      r.u32('the space limit');
      r.u32('the space limit');
    } else throw new XdrError(`an unknown space limit ${limitBy}`);
  }
  r.u32('an ACE');
  r.u32('an ACE');
  r.u32('an ACE');
  r.string(NFS4_OPAQUE_LIMIT, 'an ACE');
  return stateid;
}
