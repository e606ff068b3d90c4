import { Readable } from 'node:stream';
import { ATTR, FTYPE, bitmap, type Attrs } from './nfs4-attrs';
import { ACCESS, Compound, OPEN4_RESULT_CONFIRM, OPEN4_SHARE_ACCESS, type StateId } from './nfs4-compound';
import { Nfs4Session, retryable } from './nfs4-session';
import { NFS4ERR_EXIST, NFS4ERR_ISDIR, NFS4ERR_NOENT, NFS4ERR_NOTSUPP, Nfs4StatusError } from './nfs4-status';
import { NfsError } from './errors';
import { parseNfsUrl, splitSharePath, type NfsUrl } from './nfs-url';

/**
 * An NFSv4 share opened from an nfs:// URL, without any kernel mount: the
 * small API the storage layer uses. Paths are relative to the share's root,
 * "/"-separated. Every method fails with an NfsError naming the share and
 * the operation, within the share's timeout.
 */
/** modifiedMs: the modification time in milliseconds since 1970, or null when the server did not send it. */
export type NfsEntry = { name: string; type: 'file' | 'directory' | 'other'; size: number; modifiedMs: number | null };
/** freeBytes: free on the file system (space_free); availableBytes: what this client may still use (space_avail, e.g. without reserved blocks or beyond a quota). */
export type NfsSpace = { totalBytes: number; freeBytes: number; availableBytes: number; usedBytes: number };
export type NfsAccess = { read: boolean; write: boolean };

export type NfsOpenOptions = {
  /** Deadline for connecting and for each request, in ms (default 30 s). */
  timeoutMs?: number;
  /** AUTH_SYS identity (default: this process's uid and gid). */
  uid?: number;
  gid?: number;
  /** Upper bound for READ and WRITE sizes (default 1 MiB; the server's maxread and maxwrite lower it). */
  maxIo?: number;
  /** Bytes of WRITE or READ requests in flight at once (default 32 MiB). */
  window?: number;
};

const ENTRY_ATTRS = bitmap([ATTR.type, ATTR.size, ATTR.rdattrError, ATTR.timeModify]);
const STAT_ATTRS = bitmap([ATTR.type, ATTR.size, ATTR.timeModify]);
const ROOT_ATTRS = bitmap([ATTR.type, ATTR.leaseTime, ATTR.maxread, ATTR.maxwrite]);
const SPACE_ATTRS = bitmap([ATTR.spaceAvail, ATTR.spaceFree, ATTR.spaceTotal]);
const FILE_MODE = 0o600;
const DIR_MODE = 0o755;
/** LOOKUPs in one COMPOUND: a rename (two paths, SAVEFH, LINK, SEQUENCE) stays within the 16 operations a 4.1 session asks for. */
const LOOKUPS_PER_COMPOUND = 4;
/** Unstable bytes after which a COMMIT runs alongside the writes. */
const COMMIT_EVERY = 64 << 20;
/** A WRITE or READ request's bytes besides the data: RPC header, SEQUENCE, PUTFH, the operation. */
const IO_OVERHEAD = 1024;

/**
 * READs ask for the largest multiple of 4 KiB strictly below the limit:
 * nfs-ganesha (measured here, 512 MiB reads) spends about three times the
 * CPU per byte on READs of exactly its maxread (1 MiB) as on READs of
 * 1020 KiB, which on a shared machine halves throughput; the client does
 * the same work either way.
 */
function readSize(limit: number): number {
  return limit > 8192 ? Math.floor((limit - 1) / 4096) * 4096 : limit;
}

function entryType(t: number | undefined): NfsEntry['type'] {
  return t === FTYPE.reg ? 'file' : t === FTYPE.dir ? 'directory' : 'other';
}

function quote(p: string): string {
  return `"${p || '/'}"`;
}

export class NfsShare {
  readonly label: string;
  /** Largest READ and WRITE this share issues: the server's maxread/maxwrite, the session's limits and maxIo. */
  readonly maxRead: number;
  readonly maxWrite: number;
  readonly window: number;

  private constructor(
    readonly url: NfsUrl,
    private readonly session: Nfs4Session,
    private readonly root: Buffer,
    limits: { maxRead: number; maxWrite: number; window: number },
  ) {
    this.label = `${url.display} (NFS ${url.version})`;
    this.maxRead = limits.maxRead;
    this.maxWrite = limits.maxWrite;
    this.window = limits.window;
  }

  static async open(address: string, opts: NfsOpenOptions = {}): Promise<NfsShare> {
    const url = parseNfsUrl(address);
    const label = `${url.display} (NFS ${url.version})`;
    const maxIo = opts.maxIo ?? 1 << 20;
    let session: Nfs4Session;
    try {
      session = await Nfs4Session.start({ host: url.host, port: url.port, minor: url.minor, timeoutMs: opts.timeoutMs ?? 30_000, maxIo, uid: opts.uid, gid: opts.gid });
    } catch (err) {
      throw NfsError.from(label, 'connect', err);
    }
    try {
      const c = new Compound('open share');
      c.putrootfh();
      for (const p of url.path) c.lookup(p);
      const fh = c.getfh();
      const attrs = c.getattr(ROOT_ATTRS);
      await session.send(c);
      if (attrs.value.type !== FTYPE.dir) throw new NfsError(label, 'open the share', 'ENOTDIR', 'the path is not a folder');
      const limit = (server: number | undefined, sessionMax: number) => Math.max(4096, Math.min(maxIo, server || maxIo, sessionMax - IO_OVERHEAD));
      const share = new NfsShare(url, session, fh.value, {
        maxRead: readSize(limit(attrs.value.maxread, session.maxResponse)),
        maxWrite: limit(attrs.value.maxwrite, session.maxRequest),
        window: opts.window ?? 32 << 20,
      });
      session.startRenewal(attrs.value.leaseTime || 90);
      return share;
    } catch (err) {
      await session.close();
      if (err instanceof Nfs4StatusError && err.status === NFS4ERR_NOENT) throw new NfsError(label, 'open the share', err.code, 'the server has no such export or path');
      throw NfsError.from(label, 'open the share', err);
    }
  }

  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw NfsError.from(this.label, operation, err);
    }
  }

  /**
   * The handle of the folder `parts` leads to, walked LOOKUPS_PER_COMPOUND
   * components per COMPOUND (servers cap the operations in one; a 4.1
   * session asks for 16), leaving the last ones to the caller's compound.
   */
  private async walk(parts: string[]): Promise<{ fh: Buffer; rest: string[] }> {
    let fh = this.root;
    let i = 0;
    while (parts.length - i > LOOKUPS_PER_COMPOUND) {
      const c = new Compound('lookup');
      c.putfh(fh);
      for (const p of parts.slice(i, i + LOOKUPS_PER_COMPOUND)) c.lookup(p);
      const got = c.getfh();
      await this.session.send(c);
      fh = got.value;
      i += LOOKUPS_PER_COMPOUND;
    }
    return { fh, rest: parts.slice(i) };
  }

  /** Adds PUTFH and LOOKUPs for `parts` to `c`. */
  private async into(c: Compound, parts: string[]): Promise<Compound> {
    const { fh, rest } = await this.walk(parts);
    c.putfh(fh);
    for (const p of rest) c.lookup(p);
    return c;
  }

  /** A compound starting at what `parts` names (the root plus LOOKUPs). */
  private at(parts: string[], tag: string): Promise<Compound> {
    return this.into(new Compound(tag), parts);
  }

  async list(dir = ''): Promise<NfsEntry[]> {
    return this.run(`list ${quote(dir)}`, async () => {
      const parts = splitSharePath(dir);
      const fhc = await this.at(parts, 'list');
      const fh = fhc.getfh();
      await this.session.send(fhc);
      const out: NfsEntry[] = [];
      let cookie = 0n;
      let verifier: Buffer = Buffer.alloc(8);
      for (let round = 0; round < 100_000; round++) {
        const c = new Compound('readdir');
        c.putfh(fh.value);
        // As many entries per reply as the session carries (maxRead already fits its reply size): a folder of
        // 10,000 files is one or two round trips instead of some twenty of 64 KiB.
        const rd = c.readdir(cookie, verifier, this.maxRead, this.maxRead, ENTRY_ATTRS);
        await this.session.send(c);
        for (const e of rd.value.entries) {
          out.push({ name: e.name, type: entryType(e.attrs.type), size: e.attrs.size ?? 0, modifiedMs: e.attrs.timeModifyMs ?? null });
          cookie = e.cookie;
        }
        verifier = rd.value.verifier;
        if (rd.value.eof) return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        if (!rd.value.entries.length) throw new NfsError(this.label, `list ${quote(dir)}`, 'EPROTO', 'the server returned no entries and no end of folder');
      }
      throw new NfsError(this.label, `list ${quote(dir)}`, 'EPROTO', 'the folder listing does not end');
    });
  }

  /** Type, size and modification time, or null if nothing has that name. */
  async stat(path: string): Promise<NfsEntry | null> {
    return this.run(`stat ${quote(path)}`, async () => {
      const parts = splitSharePath(path);
      let a;
      try {
        const c = await this.at(parts, 'stat');
        a = c.getattr(STAT_ATTRS);
        await this.session.send(c);
      } catch (err) {
        if (err instanceof Nfs4StatusError && err.status === NFS4ERR_NOENT) return null;
        throw err;
      }
      return { name: parts.at(-1) ?? '', type: entryType(a.value.type), size: a.value.size ?? 0, modifiedMs: a.value.timeModifyMs ?? null };
    });
  }

  /** Total, free, available (to this client) and used bytes of the file system holding the share. */
  async space(dir = ''): Promise<NfsSpace> {
    return this.run('read the free space', async () => {
      const c = await this.at(splitSharePath(dir), 'space');
      const a = c.getattr(SPACE_ATTRS);
      await this.session.send(c);
      const { spaceTotal = 0, spaceAvail = 0, spaceFree = 0 } = a.value as Attrs;
      return { totalBytes: spaceTotal, freeBytes: spaceFree, availableBytes: spaceAvail, usedBytes: Math.max(0, spaceTotal - spaceFree) };
    });
  }

  /** What this client may do in a folder, as the server's ACCESS answers: read (list, read) and write (create, change, remove). */
  async access(dir = ''): Promise<NfsAccess> {
    return this.run(`check access to ${quote(dir)}`, async () => {
      const c = await this.at(splitSharePath(dir), 'access');
      const a = c.access(ACCESS.READ | ACCESS.LOOKUP | ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE);
      await this.session.send(c);
      const has = (bit: number) => (a.value.access & bit) !== 0;
      return { read: has(ACCESS.READ) && has(ACCESS.LOOKUP), write: has(ACCESS.MODIFY) && has(ACCESS.EXTEND) };
    });
  }

  async mkdir(path: string): Promise<void> {
    return this.run(`create the folder ${quote(path)}`, async () => {
      const parts = splitSharePath(path);
      if (!parts.length) throw new NfsError(this.label, 'create a folder', 'EINVAL', 'no folder name');
      const c = await this.at(parts.slice(0, -1), 'mkdir');
      c.mkdir(parts.at(-1)!, DIR_MODE);
      await this.session.send(c);
    });
  }

  /** Removes a file or an empty folder. */
  async remove(path: string): Promise<void> {
    return this.run(`remove ${quote(path)}`, async () => {
      const parts = splitSharePath(path);
      if (!parts.length) throw new NfsError(this.label, 'remove', 'EINVAL', 'the share itself cannot be removed');
      const c = await this.at(parts.slice(0, -1), 'remove');
      c.remove(parts.at(-1)!);
      await this.session.send(c);
    });
  }

  /**
   * Renames a file without replacing: fails with EEXIST if `to` exists.
   * NFS RENAME replaces silently, so the new name is made with LINK, which
   * refuses an existing name atomically (NFS4ERR_EXIST), and the old one is
   * then removed. Where the server cannot link (NFS4ERR_NOTSUPP, e.g. a
   * file system without hard links), the target is looked up first and then
   * renamed: a file created under `to` in between would be replaced.
   */
  async rename(from: string, to: string): Promise<void> {
    const operation = `rename ${quote(from)} to ${quote(to)}`;
    return this.run(operation, async () => {
      const src = splitSharePath(from);
      const dst = splitSharePath(to);
      if (!src.length || !dst.length) throw new NfsError(this.label, 'rename', 'EINVAL', 'no file name');
      const exists = () => new NfsError(this.label, operation, 'EEXIST', `${quote(to)} exists`);
      const link = await this.at(src, 'link');
      link.savefh();
      await this.into(link, dst.slice(0, -1));
      link.link(dst.at(-1)!);
      try {
        await this.session.send(link);
      } catch (err) {
        if (err instanceof Nfs4StatusError && err.status === NFS4ERR_EXIST) throw exists();
        if (!(err instanceof Nfs4StatusError && (err.status === NFS4ERR_NOTSUPP || err.status === NFS4ERR_ISDIR))) throw err;
        if (await this.stat(to)) throw exists();
        const c = await this.at(src.slice(0, -1), 'rename');
        c.savefh();
        await this.into(c, dst.slice(0, -1));
        c.rename(src.at(-1)!, dst.at(-1)!);
        await this.session.send(c);
        return;
      }
      const rm = await this.at(src.slice(0, -1), 'remove');
      rm.remove(src.at(-1)!);
      await this.session.send(rm);
    });
  }

  /** Opens a file: stateid, file handle, and the owner sequence for CLOSE (4.0). */
  private async openFile(parts: string[], access: number, create: boolean): Promise<OpenFile> {
    if (this.session.minor !== 0) return this.openOnce(parts, access, create);
    // 4.0: a retry after NFS4ERR_DELAY/GRACE takes a new open-owner (the old one's sequence id has moved on).
    const deadline = Date.now() + this.session.opts.timeoutMs;
    let pause = 50;
    for (;;) {
      try {
        return await this.openOnce(parts, access, create);
      } catch (err) {
        if (!retryable(err) || Date.now() + pause >= deadline) throw err;
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 1000);
      }
    }
  }

  private async openOnce(parts: string[], access: number, create: boolean): Promise<OpenFile> {
    const owner = this.session.openOwner();
    const noReplay = { retry: this.session.minor !== 0 };
    const c = await this.at(parts.slice(0, -1), create ? 'create' : 'open');
    const o = c.open({ seqid: 0, access, clientid: this.session.clientid, owner, name: parts.at(-1)!, create: create ? { mode: FILE_MODE } : undefined });
    const fh = c.getfh();
    await this.session.send(c, noReplay);
    let stateid = o.value.stateid;
    let seqid = 1;
    if (this.session.minor === 0 && o.value.rflags & OPEN4_RESULT_CONFIRM) {
      const cc = new Compound('open_confirm');
      cc.putfh(fh.value);
      const confirmed = cc.openConfirm(stateid, seqid);
      await this.session.send(cc, noReplay);
      stateid = confirmed.value;
      seqid++;
    }
    return new OpenFile(this.session, fh.value, stateid, seqid, o.value.delegation);
  }

  /** Creates a new file (fails with NFS4ERR_EXIST if the name is taken) and returns its writer. */
  async createFile(path: string): Promise<NfsFileWriter> {
    return new NfsFileWriter(this, await this.openPath(path, 'create', OPEN4_SHARE_ACCESS.BOTH, true), path);
  }

  /** Opens (or creates) the file `path` names, failing in the share's words. */
  private openPath(path: string, verb: 'create' | 'open', access: number, create: boolean): Promise<OpenFile> {
    return this.run(`${verb} ${quote(path)}`, async () => {
      const parts = splitSharePath(path);
      if (!parts.length) throw new NfsError(this.label, verb, 'EINVAL', 'no file name');
      return this.openFile(parts, access, create);
    });
  }

  /**
   * Reads a file as a stream, with up to `window` bytes of READs in flight;
   * from `start`, and up to `end` (exclusive) when given: no READ asks for
   * a byte at or past `end`, so a short range costs only its own bytes.
   */
  async readFile(path: string, opts: { start?: number; end?: number } = {}): Promise<Readable> {
    return readStream(this, await this.openPath(path, 'open', OPEN4_SHARE_ACCESS.READ, false), path, opts.start ?? 0, opts.end ?? Infinity);
  }

  /**
   * Reads a file chunk by chunk (up to maxRead bytes each, in order), with
   * up to `window` bytes of READs in flight, calling `onChunk` for each and
   * waiting for it. A chunk's bytes are valid only until `onChunk` returns
   * (or its promise settles): they live in reply buffers used again, which
   * spares the garbage collection that a fresh buffer per reply costs.
   * Resolves with the bytes read.
   */
  async readChunks(path: string, onChunk: (data: Buffer) => void | Promise<void>, opts: { start?: number } = {}): Promise<number> {
    const file = await this.openPath(path, 'open', OPEN4_SHARE_ACCESS.READ, false);
    const reader = new ReadAhead(this, file, opts.start ?? 0, true);
    let total = 0;
    try {
      for (;;) {
        let chunk: { data: Buffer; release: () => void } | null;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw this.fail(`read ${quote(path)}`, err);
        }
        if (!chunk) break;
        try {
          await onChunk(chunk.data);
        } finally {
          chunk.release();
        }
        total += chunk.data.length;
      }
    } finally {
      reader.stop();
      await file.close().catch(() => undefined);
    }
    return total;
  }

  /** Wraps an error in the share's words (for the writer and reader). */
  fail(operation: string, err: unknown): NfsError {
    return NfsError.from(this.label, operation, err);
  }

  get nfs(): Nfs4Session {
    return this.session;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** An open file: the handle, the open stateid, and what CLOSE needs. */
export class OpenFile {
  private closed = false;

  constructor(
    private readonly session: Nfs4Session,
    readonly fh: Buffer,
    readonly stateid: StateId,
    private seqid: number,
    private readonly delegation: StateId | null,
  ) {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = new Compound('close');
    c.putfh(this.fh);
    c.close(this.session.minor === 0 ? this.seqid++ : 0, this.stateid);
    if (this.delegation) c.delegreturn(this.delegation);
    await this.session.send(c, { retry: this.session.minor !== 0 });
  }
}

/**
 * Writes a new file: writeAt() and append() issue UNSTABLE WRITEs of at
 * most maxWrite bytes, with up to `window` bytes in flight (append resolves
 * as soon as its bytes are sent, so a caller can keep the pipe full;
 * writeAt when the server took them); every COMMIT_EVERY bytes a COMMIT
 * runs alongside, so the server's disk writes while more data arrives;
 * commit() waits for every WRITE, COMMITs, checks that the server's write
 * verifier never changed (a change means it restarted and may have lost
 * unstable data), and closes. The
 * first failure is sticky: every later call fails with it. abort() closes
 * and removes the file.
 */
export class NfsFileWriter {
  private inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private waiters: (() => void)[] = [];
  private failure: NfsError | null = null;
  private verifier: Buffer | null = null;
  private appendAt = 0;
  private sinceCommit = 0;
  private background: Promise<void> | null = null;
  bytesWritten = 0;

  constructor(
    private readonly share: NfsShare,
    private readonly file: OpenFile,
    readonly path: string,
  ) {}

  private op(): string {
    return `write ${quote(this.path)}`;
  }

  private async room(n: number): Promise<void> {
    while (this.inFlightBytes > 0 && this.inFlightBytes + n > this.share.window && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private sendOne(offset: number, data: Buffer): Promise<void> {
    const session = this.share.nfs;
    const p = (async () => {
      let done = 0;
      while (done < data.length) {
        const c = new Compound('write');
        c.putfh(this.file.fh);
        const w = c.write(this.file.stateid, offset + done, data.subarray(done));
        await session.send(c);
        if (this.verifier && !this.verifier.equals(w.value.verifier)) {
          throw new NfsError(this.share.label, this.op(), 'ECHANGED', 'the server restarted during the write; data it had not stored may be lost');
        }
        this.verifier ??= w.value.verifier;
        if (w.value.count === 0) throw new NfsError(this.share.label, this.op(), 'EIO', 'the server accepted no bytes');
        done += w.value.count;
      }
      this.bytesWritten += data.length;
      this.sinceCommit += data.length;
      if (this.sinceCommit >= COMMIT_EVERY && !this.background) {
        this.sinceCommit = 0;
        const b = this.commitOnce().finally(() => {
          if (this.background === b) this.background = null;
        });
        b.catch(() => undefined);
        this.background = b;
      }
    })().catch((err) => {
      this.failure ??= this.share.fail(this.op(), err);
      throw this.failure;
    });
    this.inFlightBytes += data.length;
    this.inFlight.add(p);
    p.catch(() => undefined).finally(() => {
      this.inFlight.delete(p);
      this.inFlightBytes -= data.length;
      this.wake();
    });
    return p;
  }

  /** Writes `data` at `offset`; resolves when the server has taken it (unstable until commit). */
  /** Sends `data` at `offset` as WRITEs of at most maxWrite bytes, each once the window has room; answers their promises. */
  private async sendAll(offset: number, data: Buffer): Promise<Promise<void>[]> {
    if (this.failure) throw this.failure;
    const pieces: Promise<void>[] = [];
    for (let i = 0; i < data.length; i += this.share.maxWrite) {
      const piece = data.subarray(i, Math.min(data.length, i + this.share.maxWrite));
      await this.room(piece.length);
      if (this.failure) throw this.failure;
      pieces.push(this.sendOne(offset + i, piece));
    }
    return pieces;
  }

  /** Writes `data` at `offset`; resolves when the server has taken all of it (unstable until commit), after which `data` may be reused. */
  async writeAt(offset: number, data: Buffer): Promise<void> {
    const results = await Promise.allSettled(await this.sendAll(offset, data));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /**
   * Appends after the previous append; resolves once the bytes are sent,
   * not yet acknowledged: `data` is sent by reference and must not change
   * until commit() resolves.
   */
  async append(data: Buffer): Promise<void> {
    const at = this.appendAt;
    this.appendAt += data.length;
    for (const p of await this.sendAll(at, data)) p.catch(() => undefined);
  }

  /** One COMMIT of the whole file; a verifier that changed means unstable data may be lost. */
  private async commitOnce(): Promise<void> {
    try {
      const c = new Compound('commit');
      c.putfh(this.file.fh);
      const v = c.commit();
      await this.share.nfs.send(c);
      if (this.verifier && !this.verifier.equals(v.value)) {
        throw new NfsError(this.share.label, this.op(), 'ECHANGED', 'the server restarted before the data was committed; it may be lost');
      }
    } catch (err) {
      this.failure ??= this.share.fail(`commit ${quote(this.path)}`, err);
      throw this.failure;
    }
  }

  /** Waits for every WRITE, commits to stable storage, checks the verifier, closes. */
  async commit(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    if (this.background) await this.background.catch(() => undefined);
    if (this.failure) throw this.failure;
    try {
      await this.commitOnce();
      await this.file.close();
    } catch (err) {
      this.failure ??= this.share.fail(`commit ${quote(this.path)}`, err);
      throw this.failure;
    }
  }

  /** Stops: waits for WRITEs in flight, closes, removes the file. Never throws. */
  async abort(): Promise<void> {
    this.failure ??= new NfsError(this.share.label, this.op(), 'ECANCELED', 'the write was cancelled');
    this.wake();
    await Promise.allSettled([...this.inFlight]);
    if (this.background) await this.background.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await this.share.remove(this.path).catch(() => undefined);
  }
}

/**
 * READs of maxRead bytes, up to `window` bytes ahead, handed out in file
 * order, none reaching `end` (exclusive; the last one is cut to it). A
 * short READ before the end of the file is followed by asking again from
 * where it stopped (what was asked beyond it is dropped). With `pooled`,
 * each chunk's bytes live in a pooled reply until its release().
 */
class ReadAhead {
  private readonly ahead: { offset: number; count: number; reply: Promise<{ eof: boolean; data: Buffer; release: () => void }> }[] = [];
  private next: number;
  private eof = false;

  constructor(
    private readonly share: NfsShare,
    private readonly file: OpenFile,
    start: number,
    private readonly pooled: boolean,
    private readonly end = Infinity,
  ) {
    this.next = start;
  }

  private fill(): void {
    while (!this.eof && this.next < this.end && this.ahead.length * this.share.maxRead < this.share.window) {
      const offset = this.next;
      const count = Math.min(this.share.maxRead, this.end - offset);
      const c = new Compound('read');
      c.putfh(this.file.fh);
      const r = c.read(this.file.stateid, offset, count);
      const reply = this.share.nfs.send(c, { pooled: this.pooled }).then((release) => ({ ...r.value, release }));
      reply.catch(() => undefined);
      this.ahead.push({ offset, count, reply });
      this.next += count;
    }
  }

  /** The next chunk, or null at the end of the file. */
  async read(): Promise<{ data: Buffer; release: () => void } | null> {
    if (this.eof && !this.ahead.length) return null;
    this.fill();
    const head = this.ahead.shift();
    if (!head) return null;
    const { eof, data, release } = await head.reply;
    if (data.length === 0 && !eof) {
      release();
      this.stop();
      throw new NfsError(this.share.label, 'read', 'EIO', `the server returned no data at byte ${head.offset} and did not say the file ends there`);
    }
    if (eof || head.offset + data.length >= this.end) this.stop();
    else if (data.length < head.count) {
      this.drop();
      this.next = head.offset + data.length;
    }
    if (!data.length) {
      release();
      return null;
    }
    return { data, release };
  }

  /** Drops what was asked ahead, handing pooled replies back as they come. */
  private drop(): void {
    for (const a of this.ahead.splice(0)) a.reply.then((r) => r.release(), () => undefined);
  }

  stop(): void {
    this.eof = true;
    this.drop();
  }
}

/** A Readable over a ReadAhead (not pooled: a stream's consumer may keep any chunk); CLOSE at the end. */
function readStream(share: NfsShare, file: OpenFile, path: string, start: number, end: number): Readable {
  const reader = new ReadAhead(share, file, start, false, end);
  let closing: Promise<void> | null = null;
  const finish = () => (closing ??= file.close().catch(() => undefined));
  return new Readable({
    highWaterMark: share.maxRead,
    read() {
      reader.read().then(
        (chunk) => {
          if (chunk) this.push(chunk.data);
          else void finish().then(() => this.push(null));
        },
        (err) => {
          reader.stop();
          void finish();
          this.destroy(share.fail(`read ${quote(path)}`, err));
        },
      );
    },
    destroy(err, cb) {
      reader.stop();
      void finish().then(() => cb(err));
    },
  });
}
