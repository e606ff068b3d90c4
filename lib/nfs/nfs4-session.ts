import crypto from 'node:crypto';
import os from 'node:os';
import { Compound, OP, Result } from './nfs4-compound';
import { readBitmap } from './nfs4-attrs';
import { NFS4ERR_DELAY, NFS4ERR_GRACE, Nfs4StatusError } from './nfs4-status';
import { ConnectionError, RpcConnection } from './rpc-connection';
import { RpcError } from './rpc-message';
import { XdrError, type XdrReader } from './xdr-reader';
import { XdrWriter } from './xdr-writer';

/**
 * The client's state on one server: a TCP connection and, by minor version,
 *
 *   4.0  SETCLIENTID + SETCLIENTID_CONFIRM give a client id; open files
 *        carry per-owner sequence ids (each open uses an owner of its own);
 *        RENEW keeps the lease.
 *   4.1, 4.2  EXCHANGE_ID + CREATE_SESSION give a session; every COMPOUND
 *        starts with SEQUENCE on a free slot of the session's slot table
 *        (slot sequence ids start at 1 and advance when SEQUENCE succeeds),
 *        so as many compounds run at once as the server granted slots;
 *        RECLAIM_COMPLETE once; SEQUENCE alone keeps the lease.
 *        close(): DESTROY_SESSION, DESTROY_CLIENTID.
 *
 * send() runs a Compound under the deadline, retrying while the server says
 * NFS4ERR_DELAY or NFS4ERR_GRACE (not for 4.0's sequence-id operations:
 * their owner's sequence id advanced with the error, so the same compound
 * would be a replay; the share retries OPEN with a new owner instead).
 */
const NFS_PROGRAM = 100003;
const NFS_V4 = 4;
const PROC_COMPOUND = 1;
const EXCHGID4_FLAG_USE_NON_PNFS = 0x00010000;
const NFS4ERR_COMPLETE_ALREADY = 10054;

export type MinorVersion = 0 | 1 | 2;

export type SessionOptions = {
  host: string;
  port: number;
  minor: MinorVersion;
  timeoutMs: number;
  /** Largest READ or WRITE payload this client will ask for. */
  maxIo: number;
  uid?: number;
  gid?: number;
};

type Slot = { id: number; seqid: number };

export class Nfs4Session {
  clientid = 0n;
  private sessionid: Buffer | null = null;
  private slots: Slot[] = [];
  private tableSize = 1;
  private waiting: { resolve: (s: Slot) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private renewTimer: NodeJS.Timeout | null = null;
  /** Largest request and reply the session allows (4.1+); 4.0 has no such limits. */
  maxRequest = Infinity;
  maxResponse = Infinity;
  /** A unique identity for this client instance: boot verifier and owner string. */
  private readonly verifier = crypto.randomBytes(8);
  private readonly owner = Buffer.from(`webconf/${os.hostname()}/${process.pid}/${crypto.randomUUID()}`);

  private constructor(
    readonly rpc: RpcConnection,
    readonly opts: SessionOptions,
  ) {}

  static async start(opts: SessionOptions): Promise<Nfs4Session> {
    const rpc = await RpcConnection.connect({
      host: opts.host,
      port: opts.port,
      timeoutMs: opts.timeoutMs,
      prog: NFS_PROGRAM,
      vers: NFS_V4,
      auth: { machineName: os.hostname(), uid: opts.uid ?? process.getuid?.() ?? 0, gid: opts.gid ?? process.getgid?.() ?? 0 },
      maxRecord: opts.maxIo + (1 << 16),
    });
    const s = new Nfs4Session(rpc, opts);
    // Nobody waits for a slot on a dead connection.
    rpc.onFailure((err) => {
      for (const w of s.waiting.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    });
    try {
      if (opts.minor === 0) await s.setClientId();
      else await s.createSession();
    } catch (err) {
      rpc.close();
      throw err;
    }
    return s;
  }

  get minor(): MinorVersion {
    return this.opts.minor;
  }

  /** A fresh open-owner (4.0: each open gets its own, so its sequence ids start at 0). */
  openOwner(): Buffer {
    return Buffer.concat([this.owner, crypto.randomBytes(8)]);
  }

  private async setClientId(): Promise<void> {
    const c = new Compound('setclientid');
    const res = c.raw(
      OP.SETCLIENTID,
      (w) => {
        // nfs_client_id4 { verifier[8], id<> }, cb_client4 { program, netaddr4 { netid, addr } }, callback_ident
        w.fixed(this.verifier).opaque(this.owner);
        w.u32(0x40000000).string('tcp').string('0.0.0.0.0.0');
        w.u32(1);
      },
      (r) => ({ clientid: r.u64big('the client id'), confirm: Buffer.from(r.fixed(8, 'the confirm verifier')) }),
    );
    await this.call(c);
    const confirm = new Compound('setclientid_confirm');
    confirm.raw(OP.SETCLIENTID_CONFIRM, (w) => w.u64(res.value.clientid).fixed(res.value.confirm));
    await this.call(confirm);
    this.clientid = res.value.clientid;
  }

  private async createSession(): Promise<void> {
    const ex = new Compound('exchange_id');
    const exres = ex.raw(
      OP.EXCHANGE_ID,
      (w) => {
        // client_owner4 { verifier[8], ownerid<> }, flags, state_protect4_a { SP4_NONE }, client_impl_id<1> (none)
        w.fixed(this.verifier).opaque(this.owner).u32(EXCHGID4_FLAG_USE_NON_PNFS).u32(0).u32(0);
      },
      readExchangeId,
    );
    await this.call(ex);
    this.clientid = exres.value.clientid;

    const cs = new Compound('create_session');
    const fore = { maxRequest: this.opts.maxIo + 8192, maxResponse: this.opts.maxIo + 8192, maxOps: 16, maxRequests: 64 };
    const csres = cs.raw(
      OP.CREATE_SESSION,
      (w) => {
        w.u64(exres.value.clientid).u32(exres.value.sequenceid).u32(0);
        // channel_attrs4: headerpadsize, maxrequestsize, maxresponsesize, maxresponsesize_cached, maxoperations, maxrequests, rdma_ird<1>
        w.u32(0).u32(fore.maxRequest).u32(fore.maxResponse).u32(8192).u32(fore.maxOps).u32(fore.maxRequests).u32(0);
        w.u32(0).u32(4096).u32(4096).u32(0).u32(2).u32(1).u32(0);
        // cb_program, callback_sec_parms4<> { AUTH_NONE }
        w.u32(0x40000000).u32(1).u32(0);
      },
      (r) => {
        const sessionid = Buffer.from(r.fixed(16, 'the session id'));
        r.u32('the session sequence');
        r.u32('the session flags');
        const foreAttrs = readChannelAttrs(r);
        readChannelAttrs(r);
        return { sessionid, fore: foreAttrs };
      },
    );
    await this.call(cs);
    this.sessionid = csres.value.sessionid;
    const granted = Math.max(1, Math.min(fore.maxRequests, csres.value.fore.maxRequests));
    this.slots = Array.from({ length: granted }, (_, id) => ({ id, seqid: 0 }));
    this.tableSize = granted;
    this.maxRequest = csres.value.fore.maxRequestSize;
    this.maxResponse = csres.value.fore.maxResponseSize;

    const rc = new Compound('reclaim_complete');
    rc.raw(OP.RECLAIM_COMPLETE, (w) => w.bool(false));
    try {
      await this.send(rc);
    } catch (err) {
      if (!(err instanceof Nfs4StatusError && err.status === NFS4ERR_COMPLETE_ALREADY)) throw err;
    }
  }

  /** Keeps the lease while the share is open: RENEW (4.0) or a lone SEQUENCE (4.1+), every third of it. */
  startRenewal(leaseSeconds: number): void {
    const every = Math.max(1, leaseSeconds / 3) * 1000;
    this.renewTimer = setInterval(() => {
      const c = new Compound('renew');
      if (this.minor === 0) c.raw(OP.RENEW, (w) => w.u64(this.clientid));
      this.send(c).catch(() => undefined);
    }, every);
    this.renewTimer.unref();
  }

  /** A free slot, waiting at most `timeoutMs` (and not at all on a dead connection). */
  private async acquireSlot(timeoutMs: number): Promise<Slot> {
    if (this.rpc.broken) throw this.rpc.broken;
    const free = this.slots.pop();
    if (free) return free;
    return new Promise((resolve, reject) => {
      const w = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiting = this.waiting.filter((x) => x !== w);
          reject(new ConnectionError(`no free session slot within ${timeoutMs} ms`, 'ETIMEDOUT'));
        }, timeoutMs),
      };
      this.waiting.push(w);
    });
  }

  private releaseSlot(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(slot);
    } else this.slots.push(slot);
  }

  /** One COMPOUND call, no retries; resolves with the function that hands a pooled reply back. */
  private async call(c: Compound, timeoutMs = this.opts.timeoutMs, pooled = false): Promise<() => void> {
    const decode = (r: XdrReader, first?: Parameters<Compound['decode']>[1]) => {
      try {
        c.decode(r, first);
      } catch (err) {
        this.rpc.release(r);
        throw err;
      }
      return pooled ? () => this.rpc.release(r) : () => undefined;
    };
    if (!this.sessionid) {
      const w = new XdrWriter(256);
      c.encode(w, this.minor);
      const r = await this.rpc.call(PROC_COMPOUND, w.segments(), timeoutMs, pooled);
      return decode(r);
    }
    const started = Date.now();
    const slot = await this.acquireSlot(timeoutMs);
    timeoutMs = Math.max(1, timeoutMs - (Date.now() - started));
    const seq = new Result<void>();
    const sessionid = this.sessionid;
    const sequence = {
      code: OP.SEQUENCE,
      encode: (w: XdrWriter) => w.fixed(sessionid).u32(slot.seqid + 1).u32(slot.id).u32(this.tableSize - 1).bool(false),
      decode: (r: XdrReader) => {
        r.fixed(16, 'the session id');
        r.u32('the slot sequence');
        r.u32('the slot');
        r.u32('the highest slot');
        r.u32('the target highest slot');
        r.u32('the status flags');
        seq.fill(undefined);
      },
    };
    const w = new XdrWriter(256);
    c.encode(w, this.minor, sequence);
    let lost = false;
    try {
      const r = await this.rpc.call(PROC_COMPOUND, w.segments(), timeoutMs, pooled);
      try {
        return decode(r, sequence);
      } finally {
        // The slot's sequence advances when SEQUENCE itself succeeded, whatever the rest did.
        try {
          seq.value;
          slot.seqid++;
        } catch {
          /* SEQUENCE failed: the slot keeps its sequence id */
        }
      }
    } catch (err) {
      // No reply, or one that cannot be read: the slot's state on the server is unknown. It is never
      // used again, and the connection is given up (a timeout already failed it), so nothing waits for it.
      lost = !(err instanceof Nfs4StatusError || err instanceof RpcError);
      if (lost) this.rpc.close();
      throw err;
    } finally {
      if (!lost) this.releaseSlot(slot);
    }
  }

  /**
   * Runs a compound, retrying on NFS4ERR_DELAY and NFS4ERR_GRACE until the
   * deadline. With `pooled`, results may point into a pooled reply: call
   * the returned function once nothing refers to them any more.
   */
  async send(c: Compound, opts: { pooled?: boolean; retry?: boolean } = {}): Promise<() => void> {
    const deadline = Date.now() + this.opts.timeoutMs;
    let pause = 50;
    for (;;) {
      try {
        return await this.call(c, Math.max(1, deadline - Date.now()), opts.pooled);
      } catch (err) {
        const again = opts.retry !== false && retryable(err);
        if (!again || Date.now() + pause >= deadline) throw err;
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 1000);
      }
    }
  }

  /** Ends the session and the client id (4.1+), stops renewing, closes the connection. Never throws. */
  async close(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    const quick = Math.min(this.opts.timeoutMs, 5000);
    if (this.sessionid && !this.rpc.broken) {
      const sessionid = this.sessionid;
      this.sessionid = null;
      const ds = new Compound('destroy_session');
      ds.raw(OP.DESTROY_SESSION, (w) => w.fixed(sessionid));
      await this.call(ds, quick).catch(() => undefined);
      const dc = new Compound('destroy_clientid');
      dc.raw(OP.DESTROY_CLIENTID, (w) => w.u64(this.clientid));
      await this.call(dc, quick).catch(() => undefined);
    }
    this.rpc.close();
  }
}

/** The server asks to try again later. */
export function retryable(err: unknown): boolean {
  return err instanceof Nfs4StatusError && (err.status === NFS4ERR_DELAY || err.status === NFS4ERR_GRACE);
}

type ChannelAttrs = { maxRequestSize: number; maxResponseSize: number; maxRequests: number };

function readChannelAttrs(r: XdrReader): ChannelAttrs {
  r.u32('the header padding');
  const maxRequestSize = r.u32('the largest request');
  const maxResponseSize = r.u32('the largest reply');
  r.u32('the largest cached reply');
  r.u32('the most operations');
  const maxRequests = r.u32('the most requests');
  const ird = r.count('the RDMA limits');
  if (ird > 1) throw new XdrError('more than one RDMA limit');
  for (let i = 0; i < ird; i++) r.u32('the RDMA limit');
  return { maxRequestSize, maxResponseSize, maxRequests };
}

/**
 * EXCHANGE_ID result: clientid u64, sequenceid u32, flags u32,
 * state_protect4_r { how: SP4_NONE(0) | SP4_MACH_CRED(1) { bitmap4, bitmap4 } },
 * server_owner4 { minor_id u64, major_id<1024> }, server_scope<1024>, server_impl_id<1>
 */
function readExchangeId(r: XdrReader) {
  const clientid = r.u64big('the client id');
  const sequenceid = r.u32('the sequence id');
  r.u32('the exchange flags');
  const how = r.u32('the state protection');
  if (how === 1) {
    readBitmap(r);
    readBitmap(r);
  } else if (how !== 0) throw new XdrError(`state protection ${how}, which this client does not offer`);
  r.u64big('the server owner');
  r.opaque(1024, 'the server owner');
  r.opaque(1024, 'the server scope');
  const impl = r.count('the server implementation');
  if (impl > 1) throw new XdrError('more than one server implementation');
  for (let i = 0; i < impl; i++) {
    r.string(1024, 'the implementation domain');
    r.string(1024, 'the implementation name');
    r.i64big('the implementation date');
    r.u32('the implementation date');
  }
  return { clientid, sequenceid };
}
