/**
 * nfsstat4 (RFC 7530 §13, RFC 8881 §15): the status of a COMPOUND and of
 * each operation in it. Names for logs and error codes, words for people.
 */
const STATUS: Record<number, [string, string]> = {
  1: ['NFS4ERR_PERM', 'not permitted'],
  2: ['NFS4ERR_NOENT', 'no such file or folder'],
  5: ['NFS4ERR_IO', 'an I/O error on the server'],
  6: ['NFS4ERR_NXIO', 'no such device'],
  13: ['NFS4ERR_ACCESS', 'permission denied'],
  17: ['NFS4ERR_EXIST', 'a file or folder with that name exists'],
  18: ['NFS4ERR_XDEV', 'not on the same file system'],
  20: ['NFS4ERR_NOTDIR', 'not a folder'],
  21: ['NFS4ERR_ISDIR', 'is a folder'],
  22: ['NFS4ERR_INVAL', 'invalid argument'],
  27: ['NFS4ERR_FBIG', 'the file is too large for the server'],
  28: ['NFS4ERR_NOSPC', 'no space left on the share'],
  30: ['NFS4ERR_ROFS', 'the share is read-only'],
  31: ['NFS4ERR_MLINK', 'too many links'],
  63: ['NFS4ERR_NAMETOOLONG', 'the name is too long'],
  66: ['NFS4ERR_NOTEMPTY', 'the folder is not empty'],
  69: ['NFS4ERR_DQUOT', 'the quota on the share is exhausted'],
  70: ['NFS4ERR_STALE', 'the file no longer exists on the server (stale file handle)'],
  10001: ['NFS4ERR_BADHANDLE', 'a bad file handle'],
  10003: ['NFS4ERR_BAD_COOKIE', 'the folder changed while it was listed'],
  10004: ['NFS4ERR_NOTSUPP', 'the server does not support this operation'],
  10005: ['NFS4ERR_TOOSMALL', 'the reply would be too large'],
  10006: ['NFS4ERR_SERVERFAULT', 'an internal error on the server'],
  10007: ['NFS4ERR_BADTYPE', 'the server cannot create that type of object'],
  10008: ['NFS4ERR_DELAY', 'the server is busy'],
  10010: ['NFS4ERR_DENIED', 'the file is locked'],
  10011: ['NFS4ERR_EXPIRED', 'the client lease expired'],
  10013: ['NFS4ERR_GRACE', 'the server is in its grace period after a restart'],
  10014: ['NFS4ERR_FHEXPIRED', 'the file handle expired'],
  10015: ['NFS4ERR_SHARE_DENIED', 'the file is open elsewhere in a conflicting way'],
  10016: ['NFS4ERR_WRONGSEC', 'the share requires another security flavour than AUTH_SYS'],
  10017: ['NFS4ERR_CLID_INUSE', 'the client id is in use by another client'],
  10018: ['NFS4ERR_RESOURCE', 'the server ran out of resources'],
  10020: ['NFS4ERR_NOFILEHANDLE', 'no current file handle'],
  10021: ['NFS4ERR_MINOR_VERS_MISMATCH', 'the server does not support this NFS minor version'],
  10022: ['NFS4ERR_STALE_CLIENTID', 'the server no longer knows this client (it restarted)'],
  10023: ['NFS4ERR_STALE_STATEID', 'the server no longer knows this open file (it restarted)'],
  10024: ['NFS4ERR_OLD_STATEID', 'an old state id'],
  10025: ['NFS4ERR_BAD_STATEID', 'a bad state id (the server restarted?)'],
  10026: ['NFS4ERR_BAD_SEQID', 'a bad sequence id'],
  10029: ['NFS4ERR_SYMLINK', 'a symbolic link is in the way'],
  10032: ['NFS4ERR_ATTRNOTSUPP', 'the server does not support an attribute'],
  10036: ['NFS4ERR_BADXDR', 'the server could not decode the request'],
  10038: ['NFS4ERR_OPENMODE', 'the file is not open for this'],
  10040: ['NFS4ERR_BADCHAR', 'the name has a character the server refuses'],
  10041: ['NFS4ERR_BADNAME', 'the server refuses the name'],
  10044: ['NFS4ERR_OP_ILLEGAL', 'an operation the server does not know'],
  10046: ['NFS4ERR_FILE_OPEN', 'the file is open'],
  10047: ['NFS4ERR_ADMIN_REVOKED', 'the server administrator revoked the open file'],
  10052: ['NFS4ERR_BADSESSION', 'the server no longer knows this session (it restarted)'],
  10053: ['NFS4ERR_BADSLOT', 'a bad session slot'],
  10063: ['NFS4ERR_SEQ_MISORDERED', 'a session request out of order'],
  10065: ['NFS4ERR_REQ_TOO_BIG', 'the request is too large for the session'],
  10066: ['NFS4ERR_REP_TOO_BIG', 'the reply would be too large for the session'],
  10071: ['NFS4ERR_OP_NOT_IN_SESSION', 'an operation outside a session'],
  10078: ['NFS4ERR_DEADSESSION', 'the session is being destroyed'],
  10012: ['NFS4ERR_LOCKED', 'the file is locked'],
  10019: ['NFS4ERR_MOVED', 'the file system moved to another server'],
  10055: ['NFS4ERR_CONN_NOT_BOUND_TO_SESSION', 'the connection is not bound to the session'],
  10068: ['NFS4ERR_RETRY_UNCACHED_REP', 'the server cannot replay an earlier reply'],
  10070: ['NFS4ERR_TOO_MANY_OPS', 'the request has more operations than the server allows (is the path very deep?)'],
  10074: ['NFS4ERR_CLIENTID_BUSY', 'the client id is busy'],
  10076: ['NFS4ERR_SEQ_FALSE_RETRY', 'a session request that looked like a retry but was not'],
  10077: ['NFS4ERR_BAD_HIGH_SLOT', 'a bad highest session slot'],
  10083: ['NFS4ERR_WRONG_TYPE', 'the wrong type of object for this operation'],
};

export const NFS4_OK = 0;
export const NFS4ERR_NOENT = 2;
export const NFS4ERR_EXIST = 17;
export const NFS4ERR_ISDIR = 21;
export const NFS4ERR_NOTSUPP = 10004;
export const NFS4ERR_DELAY = 10008;
export const NFS4ERR_GRACE = 10013;

export function statusName(status: number): string {
  return STATUS[status]?.[0] ?? `NFS4ERR_${status}`;
}

export function statusWords(status: number): string {
  return STATUS[status]?.[1] ?? `NFS error ${status}`;
}

/** An operation in a COMPOUND answered with a status other than NFS4_OK. */
export class Nfs4StatusError extends Error {
  constructor(
    readonly status: number,
    readonly op: string,
  ) {
    super(`${statusWords(status)} (${statusName(status)} from ${op})`);
    this.name = 'Nfs4StatusError';
  }

  get code(): string {
    return statusName(this.status);
  }
}
