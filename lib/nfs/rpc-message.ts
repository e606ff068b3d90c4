import { XdrReader, XdrError } from './xdr-reader';
import { XdrWriter } from './xdr-writer';

/**
 * ONC RPC v2 messages (RFC 5531) as the NFS client uses them:
 *
 *   call  = xid, CALL(0), rpcvers(2), prog, vers, proc,
 *           cred = AUTH_SYS(1) opaque<400> { stamp, machinename<255>, uid, gid, gids<16> },
 *           verf = AUTH_NONE(0) opaque<0>,
 *           procedure arguments
 *   reply = xid, REPLY(1), reply_stat:
 *             MSG_ACCEPTED(0): verf (flavor, opaque<400>), accept_stat:
 *               SUCCESS(0): procedure results
 *               PROG_MISMATCH(2): low, high; others: nothing
 *             MSG_DENIED(1): reject_stat: RPC_MISMATCH(0): low, high; AUTH_ERROR(1): auth_stat
 */
export const RPC_VERSION = 2;
const CALL = 0;
const REPLY = 1;
const AUTH_NONE = 0;
const AUTH_SYS = 1;

export type AuthSys = { machineName: string; uid: number; gid: number; gids?: number[] };

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

const ACCEPT_WORDS: Record<number, [string, string]> = {
  1: ['PROG_UNAVAIL', 'the server does not offer NFS'],
  2: ['PROG_MISMATCH', 'the server does not offer this NFS version'],
  3: ['PROC_UNAVAIL', 'the server does not offer this procedure'],
  4: ['GARBAGE_ARGS', 'the server could not decode the request'],
  5: ['SYSTEM_ERR', 'the server had an internal error'],
};

const AUTH_WORDS: Record<number, string> = {
  1: 'bad credentials',
  2: 'credentials rejected (the client must begin a new session)',
  3: 'bad verifier',
  4: 'verifier expired or replayed',
  5: 'the server refuses this client for security reasons (AUTH_SYS not allowed?)',
};

/** The call's header (through the verifier); the procedure's arguments follow it. */
export function encodeCallHeader(xid: number, prog: number, vers: number, proc: number, auth: AuthSys): Buffer {
  const cred = new XdrWriter(128)
    .u32(0)
    .string(auth.machineName.slice(0, 255))
    .u32(auth.uid)
    .u32(auth.gid);
  const gids = (auth.gids ?? []).slice(0, 16);
  cred.u32(gids.length);
  for (const g of gids) cred.u32(g);
  const w = new XdrWriter(128);
  w.u32(xid).u32(CALL).u32(RPC_VERSION).u32(prog).u32(vers).u32(proc);
  w.u32(AUTH_SYS).opaque(cred.finish());
  w.u32(AUTH_NONE).u32(0);
  return w.finish();
}


/** The xid of a reply, or null if the record is too short to have one. */
export function replyXid(record: Buffer): number | null {
  return record.length >= 4 ? record.readUInt32BE(0) : null;
}

/** Checks the reply's RPC layer; returns a reader positioned at the procedure's results. */
export function decodeReply(record: Buffer): XdrReader {
  const r = new XdrReader(record);
  r.u32('the xid');
  if (r.u32('the message type') !== REPLY) throw new XdrError('a message that is not a reply');
  const stat = r.u32('the reply status');
  if (stat === 0) {
    r.u32('the verifier');
    r.opaque(400, 'the verifier');
    const accept = r.u32('the accept status');
    if (accept === 0) return r;
    const [code, words] = ACCEPT_WORDS[accept] ?? ['RPC_ERROR', `the server answered with RPC status ${accept}`];
    if (accept === 2) {
      const low = r.u32();
      const high = r.u32();
      throw new RpcError(`${words} (it offers versions ${low} to ${high})`, code);
    }
    throw new RpcError(words, code);
  }
  if (stat === 1) {
    const reject = r.u32('the reject status');
    if (reject === 0) throw new RpcError(`the server does not speak RPC version ${RPC_VERSION}`, 'RPC_MISMATCH');
    if (reject === 1) {
      const a = r.u32('the auth status');
      throw new RpcError(`the server refused the credentials: ${AUTH_WORDS[a] ?? `auth status ${a}`}`, 'AUTH_ERROR');
    }
    throw new XdrError(`an unknown reject status ${reject}`);
  }
  throw new XdrError(`an unknown reply status ${stat}`);
}
