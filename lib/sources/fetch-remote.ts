import { AppError } from '../errors';
import { abortedError, SourceError } from './errors';
import { normalizeFingerprint } from '../ssh/host-key';
import { pinnedHostKey } from './known-hosts';
import { normalizeHost } from '../ssh/fields';
import { isKeyProblem, usablePrivateKey } from '../ssh/private-key';
import type { RemoteSource } from './schemas';
import { scpDownload, type DownloadContext } from './scp-download';
import { sftpDownload } from './sftp-download';
import { openSession, readHostKey, where, type ExpectedHostKey } from './ssh-session';
import { withTempFile } from './temp-file';

/**
 * A backup file on a remote host, fetched over SFTP or SCP into a temp file.
 *
 * The host must present the pinned key (ssh_known_hosts), or the one whose
 * fingerprint the caller passes (the CLI's --fingerprint, which then stands
 * instead of the pin and changes no pin). Checked in key exchange, before the
 * user name or any credential is sent; nothing is written locally before the
 * login succeeded. The download streams into a temp file (temp-file.ts:
 * O_EXCL, 0600, fsync'ed, removed on any failure or abort).
 */

export type FetchRemoteOptions = {
  /** Folder for the temp file (must exist). */
  dir: string;
  /** Refuse (too_large) a file larger than this. */
  maxBytes: number;
  signal?: AbortSignal;
  /** After each write: bytes so far, and the file's size as the host announced it. */
  onProgress?: (bytes: number, total?: number) => void;
  /**
   * "SHA256:…": the host must present this key, whatever is pinned. It is
   * compared with the key the host presents first (its ed25519 key where it
   * has one: the key probeHostKey shows for an unpinned host).
   */
  expectedFingerprint?: string;
  /** TCP connect, SSH handshake and login must finish within this; default 20 s. */
  readyTimeoutMs?: number;
};

export type FetchedFile = {
  /** The temp file, "<dir>/remote-<random>.part"; the caller's to check, rename or remove. */
  path: string;
  size: number;
  /** SHA-256 of what was written, hex. */
  sha256: string;
};

export type HostKeyProbe = {
  keyType: string;
  fingerprint: string;
  /** match: the pinned key; unknown: nothing pinned for host:port; changed: another key is pinned. */
  pinned: 'match' | 'unknown' | 'changed';
  /** The pinned fingerprint, when one is pinned. */
  pinnedFingerprint?: string;
  pinnedKeyType?: string;
};

/** Connects to host:port, reads its host key, disconnects (nothing authenticated), and compares it with the pin. */
export async function probeHostKey(host: string, port = 22, opts: { signal?: AbortSignal; readyTimeoutMs?: number } = {}): Promise<HostKeyProbe> {
  const ep = { host: normalizeHost(host), port };
  const pin = pinnedHostKey(ep.host, ep.port);
  const key = await readHostKey(ep, { ...opts, preferredKeyType: pin?.keyType });
  if (!pin) return { ...key, pinned: 'unknown' };
  return {
    ...key,
    pinned: pin.fingerprint === key.fingerprint ? 'match' : 'changed',
    pinnedFingerprint: pin.fingerprint,
    pinnedKeyType: pin.keyType,
  };
}

export async function fetchRemoteFile(source: RemoteSource, opts: FetchRemoteOptions): Promise<FetchedFile> {
  const { signal } = opts;
  if (signal?.aborted) throw abortedError();
  const ep = { host: normalizeHost(source.host), port: source.port };
  let credentials = source.credentials;
  if ('privateKey' in credentials) {
    const usable = usablePrivateKey(credentials.privateKey, credentials.passphrase);
    if (isKeyProblem(usable)) throw new SourceError('bad_private_key', usable.message, { field: usable.field });
    credentials = usable;
  }
  const expected = expectedKey(ep, opts.expectedFingerprint);
  const session = await openSession({ ...ep, user: source.user, credentials }, expected, { signal, readyTimeoutMs: opts.readyTimeoutMs });
  // From here on an abort tears the connection down at once, whatever is pending on it.
  const onAbort = () => session.client.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  const ctx: DownloadContext = { where: where(ep), user: source.user, signal, onProgress: opts.onProgress };
  try {
    const done = await withTempFile(opts.dir, { maxBytes: opts.maxBytes, prefix: 'remote', describe: `${source.path} on ${ctx.where}` }, async (file) => {
      if (source.protocol === 'scp') await scpDownload(session, source.path, file, ctx);
      else await sftpDownload(session, source.path, file, ctx);
      if (signal?.aborted) throw abortedError();
    });
    return { path: done.path, size: done.size, sha256: done.sha256 };
  } catch (err) {
    if (signal?.aborted) throw abortedError();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    session.end();
  }
}

function expectedKey(ep: { host: string; port: number }, given: string | undefined): ExpectedHostKey | null {
  if (given !== undefined) {
    const fingerprint = normalizeFingerprint(given);
    if (!fingerprint) {
      throw new AppError('bad_request', 'A host key fingerprint is written SHA256: and 43 letters, digits, + or /, as ssh-keygen -lf prints it.', { field: 'fingerprint' });
    }
    return { fingerprint, from: 'given' };
  }
  const pin = pinnedHostKey(ep.host, ep.port);
  return pin ? { fingerprint: pin.fingerprint, keyType: pin.keyType, from: 'pinned' } : null;
}
