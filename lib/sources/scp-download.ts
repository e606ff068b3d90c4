import type { ClientChannel } from 'ssh2';
import { abortedError, remoteText, SourceError } from './errors';
import { ScpProtocolError, ScpSinkParser } from './scp-sink';
import type { SshSession } from './ssh-session';
import type { TempFile } from './temp-file';

/**
 * Downloads one file with the SCP protocol (scp-sink.ts): runs
 * `scp -f -- 'PATH'` on the host over an exec channel (through the user's
 * login shell, so the path is single-quoted for a POSIX shell), acks each
 * record, and writes the content to `file` as it arrives; reading from the
 * channel waits while a chunk is written, so ssh2's channel window holds the
 * host back. The size the host announces is checked against the limit
 * before the sink asks for the content.
 */
export type DownloadContext = {
  /** "host:port", for messages. */
  where: string;
  user: string;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total?: number) => void;
};

const OK = Buffer.from([0]);
const MAX_STDERR = 4096;

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function scpDownload(session: SshSession, remotePath: string, file: TempFile, ctx: DownloadContext): Promise<void> {
  const channel = await exec(session, `scp -f -- ${shellQuote(remotePath)}`, ctx);
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += d.toString('utf8');
  });
  let exitCode: number | null = null;
  channel.on('exit', (code: number | null) => {
    exitCode = code;
  });
  const onAbort = () => channel.destroy();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const parser = new ScpSinkParser();
  let total: number | undefined;
  let done = false;
  try {
    await write(channel, OK);
    outer: for await (const chunk of channel as AsyncIterable<Buffer>) {
      for (const ev of parser.push(chunk)) {
        if (ctx.signal?.aborted) throw abortedError();
        switch (ev.kind) {
          case 'time':
            await write(channel, OK);
            break;
          case 'file':
            if (total !== undefined) throw protocolError(ctx, 'it sent more than one file');
            total = ev.size;
            file.checkAnnouncedSize(ev.size);
            await write(channel, OK);
            break;
          case 'data':
            await file.write(ev.chunk);
            ctx.onProgress?.(file.bytes, total);
            break;
          case 'file-end':
            await write(channel, OK);
            done = true;
            break outer;
          case 'directory':
          case 'end-directory':
            throw notAFile(remotePath, ctx);
          case 'warning':
          case 'error':
            throw scpMessageError(ev.message, remotePath, ctx);
        }
      }
    }
    if (ctx.signal?.aborted) throw abortedError();
    if (!done) {
      const failure = session.failure();
      if (failure) throw failure;
      if (parser.inFile) throw new SourceError('connection_lost', `${ctx.where} stopped sending ${remotePath} before its end (${file.bytes} of ${total} bytes).`);
      throw noFileSent(stderr, exitCode, remotePath, ctx);
    }
  } catch (err) {
    if (ctx.signal?.aborted) throw abortedError();
    if (err instanceof ScpProtocolError) throw protocolError(ctx, err.message);
    throw err;
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    channel.destroy();
  }
}

function exec(session: SshSession, command: string, ctx: DownloadContext): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    session.client.exec(command, (err, channel) => {
      if (err) {
        reject(session.failure() ?? new SourceError('unsupported', `${ctx.where} refused to run scp for the user "${ctx.user}": ${remoteText(err.message)}.`));
      } else resolve(channel);
    });
  });
}

function write(channel: ClientChannel, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.write(data, (err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** OpenSSH's scp reports "scp: PATH: REASON" (strerror, or "not a regular file"). */
export function scpMessageError(message: string, remotePath: string, ctx: DownloadContext): SourceError {
  const text = remoteText(message);
  if (/no such file or directory/i.test(text)) return new SourceError('no_such_file', `${remotePath} does not exist on ${ctx.where}.`);
  if (/permission denied/i.test(text)) return new SourceError('permission_denied', `The user "${ctx.user}" may not read ${remotePath} on ${ctx.where} (permission denied).`);
  if (/not a regular file|is a directory/i.test(text)) return notAFile(remotePath, ctx);
  return new SourceError('remote_error', `${ctx.where} could not send ${remotePath}: ${text.replace(/^scp: /, '')}`);
}

function notAFile(remotePath: string, ctx: DownloadContext): SourceError {
  return new SourceError('not_a_file', `${remotePath} on ${ctx.where} is not a regular file (a folder or a device); name the backup file itself.`);
}

function protocolError(ctx: DownloadContext, detail: string): SourceError {
  return new SourceError('remote_error', `${ctx.where} did not follow the SCP protocol (${detail}). Try SFTP instead.`);
}

/** The channel ended before any file: no scp on the host, or a shell that printed something else. */
function noFileSent(stderr: string, exitCode: number | null, remotePath: string, ctx: DownloadContext): SourceError {
  if (exitCode === 127 || /scp: (command )?not found|not found: scp|No such file or directory.*scp/i.test(stderr)) {
    return new SourceError('unsupported', `${ctx.where} has no scp program for the user "${ctx.user}". Use SFTP instead.`);
  }
  if (/no such file or directory|permission denied|not a regular file/i.test(stderr)) return scpMessageError(stderr, remotePath, ctx);
  const said = remoteText(stderr);
  return new SourceError('remote_error', `${ctx.where} ended scp without sending ${remotePath}${exitCode !== null ? ` (exit status ${exitCode})` : ''}${said ? `: ${said}` : '.'}`);
}
