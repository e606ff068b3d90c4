import crypto from 'node:crypto';
import net from 'node:net';
import { decodeReply, encodeCallHeader, replyXid, type AuthSys } from './rpc-message';
import { BufferPool } from './buffer-pool';
import { recordMark, RecordParser } from './rpc-record';
import type { XdrReader } from './xdr-reader';

/**
 * One TCP connection carrying ONC RPC calls, any number in flight, matched
 * to replies by xid. Every call has a deadline; a call that misses it, a
 * reply stream that cannot be parsed, or a connection that closes fails
 * every call in flight (and every later one) with a ConnectionError: the
 * caller never waits past its deadline and never mistakes a broken stream
 * for an answer.
 */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

const SCRATCH = Buffer.allocUnsafe(64 * 1024);
/** Pooled reply buffers per connection: a read-ahead window of 32 MiB in 1 MiB replies, and what the consumer holds. */
const POOLED_REPLIES = 48;

type Pending = { resolve: (r: XdrReader) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; pooled: boolean };

export type ConnectOptions = {
  host: string;
  port: number;
  /** Deadline for connecting, and for each call unless the call sets its own. */
  timeoutMs: number;
  prog: number;
  vers: number;
  auth: AuthSys;
  /** Largest reply accepted, in bytes. */
  maxRecord: number;
};

export class RpcConnection {
  private readonly pending = new Map<number, Pending>();
  private xid = crypto.randomBytes(4).readUInt32BE(0);
  private failure: ConnectionError | null = null;
  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: ConnectOptions,
    private readonly parser: RecordParser,
    private readonly pool: BufferPool,
  ) {
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(`the connection failed: ${err.message}`, err.code ?? 'ECONNRESET')));
    socket.on('close', () => this.fail(new ConnectionError('the server closed the connection', 'ECONNRESET')));
  }

  static connect(opts: ConnectOptions): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      // The socket reads straight into the reply being assembled (RecordParser.target()): no copy, no buffer per TCP read.
      // Node asks for the first buffer when connecting, so the parser exists before the connection object.
      let connection: RpcConnection | null = null;
      const pool = new BufferPool(opts.maxRecord, POOLED_REPLIES);
      const parser = new RecordParser(opts.maxRecord, (length, xid) =>
        xid !== null && connection?.wantsPooled(xid) ? pool.take(length) : Buffer.allocUnsafe(length),
      );
      let broken = false;
      const socket = net.connect({
        host: opts.host,
        port: opts.port,
        onread: {
          buffer: () => (broken || connection?.broken ? SCRATCH : parser.target()),
          callback: (n: number) => {
            if (connection) connection.onRead(n);
            else if (!broken) {
              // Bytes before any call (a server that talks first): not a reply to anything.
              try {
                parser.advance(n);
              } catch {
                broken = true;
              }
            }
            return true;
          },
        },
      });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`no connection within ${opts.timeoutMs} ms`, 'ETIMEDOUT'));
      }, opts.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        connection = new RpcConnection(socket, opts, parser, pool);
        resolve(connection);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        const words = err.code === 'ECONNREFUSED' ? 'the connection was refused (no NFS server on that port?)' : err.code === 'ENOTFOUND' ? 'the host name is unknown' : err.message;
        reject(new ConnectionError(words, err.code ?? 'ECONNREFUSED'));
      });
    });
  }

  get broken(): ConnectionError | null {
    return this.failure;
  }

  private wantsPooled(xid: number): boolean {
    return this.pending.get(xid)?.pooled ?? false;
  }

  /** Hands a reply from a `pooled` call back once nothing refers to its bytes any more. */
  release(reply: XdrReader): void {
    this.pool.release(reply.buffer);
  }

  /**
   * Sends a call whose arguments are `args` (one buffer or segments, sent as
   * they are, without copying). With `pooled`, the reply may live in a
   * pooled buffer: the caller must release() it when done with its bytes.
   */
  call(proc: number, args: Buffer | Buffer[], timeoutMs = this.opts.timeoutMs, pooled = false): Promise<XdrReader> {
    if (this.failure) return Promise.reject(this.failure);
    this.xid = (this.xid + 1) >>> 0;
    const xid = this.xid;
    return new Promise((resolve, reject) => {
      // A call without an answer leaves the stream (and, on 4.1, a session slot) in an unknown state: the whole connection fails.
      const timer = setTimeout(() => this.fail(new ConnectionError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
      this.pending.set(xid, { resolve, reject, timer, pooled });
      const parts = [encodeCallHeader(xid, this.opts.prog, this.opts.vers, proc, this.opts.auth), ...(Array.isArray(args) ? args : [args])];
      const length = parts.reduce((n, b) => n + b.length, 0);
      this.socket.cork();
      this.socket.write(recordMark(length));
      for (const b of parts) this.socket.write(b);
      this.socket.uncork();
    });
  }

  private onRead(n: number): void {
    if (this.failure) return;
    let records: Buffer[];
    try {
      records = this.parser.advance(n);
    } catch (err) {
      return this.fail(new ConnectionError(`the server sent a malformed reply: ${(err as Error).message}`, 'EPROTO'));
    }
    for (const record of records) {
      const xid = replyXid(record);
      const p = xid === null ? undefined : this.pending.get(xid);
      if (!p) {
        // A late reply (its call timed out): its buffer goes back at once.
        this.pool.release(record);
        continue;
      }
      this.pending.delete(xid!);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeReply(record));
      } catch (err) {
        this.pool.release(record);
        p.reject(err as Error);
      }
    }
  }

  /** Called once, when the connection fails or is closed. */
  onFailure(listener: (err: ConnectionError) => void): void {
    if (this.failure) listener(this.failure);
    else this.listeners.push(listener);
  }

  private listeners: ((err: ConnectionError) => void)[] = [];

  private fail(err: ConnectionError): void {
    const first = !this.failure;
    this.failure ??= err;
    if (first) for (const l of this.listeners.splice(0)) l(this.failure);
    for (const [xid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(xid);
      p.reject(this.failure);
    }
    this.socket.destroy();
  }

  close(): void {
    this.fail(new ConnectionError('the connection was closed', 'ECONNRESET'));
  }
}
