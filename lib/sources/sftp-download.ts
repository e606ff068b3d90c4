import type { SFTPWrapper, Stats } from 'ssh2';
import { abortedError, remoteText, SourceError } from './errors';
import type { DownloadContext } from './scp-download';
import type { SshSession } from './ssh-session';
import type { TempFile } from './temp-file';

/**
 * Downloads one file over SFTP (protocol version 3, what OpenSSH speaks):
 * stat the path (a folder, a FIFO or a device is refused before it is
 * opened: opening a FIFO would block the host's sftp-server), open it, fstat
 * the handle (the size is checked against the limit before reading, and is
 * the progress total), then read it with up to WINDOW requests of CHUNK
 * bytes in flight: one request at a time would cost a round trip per chunk,
 * which over a WAN link is most of the time. Chunks are written in file
 * order; at most WINDOW × CHUNK bytes are held. A server may answer a read
 * with fewer bytes than asked (not only at the end); the rest of that chunk
 * is asked for again, so the file is never short of a gap.
 */
const CHUNK = 64 * 1024;
const WINDOW = 16;

// SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7).
const SSH_FX_EOF = 1;
const SSH_FX_NO_SUCH_FILE = 2;
const SSH_FX_PERMISSION_DENIED = 3;

export async function sftpDownload(session: SshSession, remotePath: string, file: TempFile, ctx: DownloadContext): Promise<void> {
  const sftp = await openSftp(session, ctx);
  try {
    const stats = await call<Stats>((cb) => sftp.stat(remotePath, cb)).catch((err) => {
      throw sftpError(err, remotePath, session, ctx);
    });
    if (!stats.isFile()) throw notAFile(remotePath, ctx);
    const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'r', cb)).catch((err) => {
      throw sftpError(err, remotePath, session, ctx);
    });
    try {
      const opened = await call<Stats>((cb) => sftp.fstat(handle, cb)).catch((err) => {
        throw sftpError(err, remotePath, session, ctx);
      });
      if (!opened.isFile()) throw notAFile(remotePath, ctx);
      const total = opened.size;
      file.checkAnnouncedSize(total);
      for await (const chunk of readInOrder(sftp, handle)) {
        if (ctx.signal?.aborted) throw abortedError();
        await file.write(chunk);
        ctx.onProgress?.(file.bytes, total);
      }
    } catch (err) {
      throw err instanceof SourceError ? err : sftpError(err, remotePath, session, ctx);
    } finally {
      sftp.close(handle, () => undefined);
    }
  } finally {
    sftp.end();
  }
}

/**
 * The file's bytes in order until EOF, WINDOW reads ahead. Every read's
 * promise is awaited or has a handler, so one failing while an earlier one is
 * written is reported there, never as an unhandled rejection.
 */
export async function* readInOrder(sftp: SFTPWrapper, handle: Buffer): AsyncGenerator<Buffer> {
  let next = 0;
  const inflight: Promise<Buffer>[] = [];
  const launch = () => {
    const p = readChunk(sftp, handle, next, CHUNK);
    p.catch(() => undefined);
    inflight.push(p);
    next += CHUNK;
  };
  try {
    for (;;) {
      while (inflight.length < WINDOW) launch();
      const chunk = await inflight.shift()!;
      if (chunk.length > 0) yield chunk;
      if (chunk.length < CHUNK) return;
    }
  } finally {
    // Reads past the end answer EOF; wait for them so that the handle is closed after them.
    await Promise.allSettled(inflight);
  }
}

/** `len` bytes at `pos`, fewer only at the end of the file. */
async function readChunk(sftp: SFTPWrapper, handle: Buffer, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = await new Promise<number>((resolve, reject) => {
      sftp.read(handle, buf, got, len - got, pos + got, (err, bytesRead) => {
        if (err && (err as { code?: number }).code === SSH_FX_EOF) resolve(0);
        else if (err) reject(err);
        else resolve(bytesRead);
      });
    });
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

function openSftp(session: SshSession, ctx: DownloadContext): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    session.client.sftp((err, sftp) => {
      if (err) reject(session.failure() ?? new SourceError('unsupported', `${ctx.where} does not offer SFTP to the user "${ctx.user}" (${remoteText(err.message)}). Use SCP instead.`));
      else resolve(sftp);
    });
  });
}

function call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function notAFile(remotePath: string, ctx: DownloadContext): SourceError {
  return new SourceError('not_a_file', `${remotePath} on ${ctx.where} is not a regular file (a folder or a device); name the backup file itself.`);
}

function sftpError(err: unknown, remotePath: string, session: SshSession, ctx: DownloadContext): unknown {
  if (err instanceof SourceError) return err;
  if (ctx.signal?.aborted) return abortedError();
  const code = (err as { code?: unknown }).code;
  // A local error (ENOSPC writing the temp file, …) has an errno code: not the host's doing.
  if (typeof code === 'string') return err;
  if (code === SSH_FX_NO_SUCH_FILE) return new SourceError('no_such_file', `${remotePath} does not exist on ${ctx.where}.`);
  if (code === SSH_FX_PERMISSION_DENIED) return new SourceError('permission_denied', `The user "${ctx.user}" may not read ${remotePath} on ${ctx.where} (permission denied).`);
  const failure = session.failure();
  if (failure) return failure;
  if (typeof code === 'number') return new SourceError('remote_error', `${ctx.where} could not send ${remotePath}: ${remoteText((err as Error).message)}.`);
  // Not from the host (a local write error, a bug): a fault, kept as it is.
  return err;
}
