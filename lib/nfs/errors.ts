import { Nfs4StatusError } from './nfs4-status';
import { ConnectionError } from './rpc-connection';
import { RpcError } from './rpc-message';
import { XdrError } from './xdr-reader';

/**
 * Every failure of lib/nfs reaches callers as an NfsError naming the share
 * and the operation, in words, with a code: an NFS4ERR_* name, an RPC
 * failure (AUTH_ERROR, PROG_MISMATCH...), a connection failure (ETIMEDOUT,
 * ECONNREFUSED, ECONNRESET, EPROTO for a malformed reply), or one of ours
 * (ECHANGED: the server restarted during a write, EEXIST).
 */
export class NfsError extends Error {
  constructor(
    readonly share: string,
    readonly operation: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${share}: ${operation} failed: ${reason}`);
    this.name = 'NfsError';
  }

  static from(share: string, operation: string, err: unknown): NfsError {
    if (err instanceof NfsError) return err;
    if (err instanceof Nfs4StatusError) return new NfsError(share, operation, err.code, err.message);
    if (err instanceof ConnectionError || err instanceof RpcError) return new NfsError(share, operation, err.code, err.message);
    if (err instanceof XdrError) return new NfsError(share, operation, 'EPROTO', `the server sent a malformed reply (${err.message})`);
    const e = err as NodeJS.ErrnoException;
    return new NfsError(share, operation, e?.code ?? 'EIO', e?.message ?? String(err));
  }
}
