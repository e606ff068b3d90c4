import crypto from 'node:crypto';
import net from 'node:net';
import { decodeReply, encodeCallHeader, replyXid, type AuthSys } from './rpc-message';
import { recordMark, RecordParser } from './rpc-record';
import type { XdrReader } from './xdr-reader';

/**
 * One TCP connection carrying ONC RPC calls, any number in flight, matched
 * to replies by xid. Every call has a deadline; a reply that cannot be
 * parsed, or a connection that closes, fails every call in flight (and every
 * later one) with a ConnectionError: the caller never waits past its
 * deadline and never mistakes a broken stream for an answer. Replies to
 * calls that already timed out are dropped.
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

const READ_BUFFER = 256 * 1024;

type Pending = { resolve: (r: XdrReader) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

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
  private readonly parser: RecordParser;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: ConnectOptions,
  ) {
    this.parser = new RecordParser(opts.maxRecord);
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(`the connection failed: ${err.message}`, err.code ?? 'ECONNRESET')));
    socket.on('close', () => this.fail(new ConnectionError('the server closed the connection', 'ECONNRESET')));
  }

  static connect(opts: ConnectOptions): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      // Replies are read into one buffer (the parser copies them out): no allocation per TCP read.
      let connection: RpcConnection | null = null;
      const socket = net.connect({
        host: opts.host,
        port: opts.port,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER),
          callback: (n: number, buf: Uint8Array) => {
            connection?.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
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
        connection = new RpcConnection(socket, opts);
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

  /** Sends a call whose arguments are `args` (one buffer or segments, sent as they are, without copying). */
  call(proc: number, args: Buffer | Buffer[], timeoutMs = this.opts.timeoutMs): Promise<XdrReader> {
    if (this.failure) return Promise.reject(this.failure);
    this.xid = (this.xid + 1) >>> 0;
    const xid = this.xid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new ConnectionError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      this.pending.set(xid, { resolve, reject, timer });
      const parts = [encodeCallHeader(xid, this.opts.prog, this.opts.vers, proc, this.opts.auth), ...(Array.isArray(args) ? args : [args])];
      const length = parts.reduce((n, b) => n + b.length, 0);
      this.socket.cork();
      this.socket.write(recordMark(length));
      for (const b of parts) this.socket.write(b);
      this.socket.uncork();
    });
  }

  private onData(chunk: Buffer): void {
    let records: Buffer[];
    try {
      records = this.parser.push(chunk);
    } catch (err) {
      return this.fail(new ConnectionError(`the server sent a malformed reply: ${(err as Error).message}`, 'EPROTO'));
    }
    for (const record of records) {
      const xid = replyXid(record);
      const p = xid === null ? undefined : this.pending.get(xid);
      if (!p) continue;
      this.pending.delete(xid!);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeReply(record));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private fail(err: ConnectionError): void {
    this.failure ??= err;
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
