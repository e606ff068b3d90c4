/**
 * Where a backup file for a restore can come from, each ending as a temp
 * file in a folder the caller gives (O_EXCL, mode 0600, fsync'ed, size-
 * limited, abortable, removed on any failure): a file on a remote host over
 * SFTP or SCP (fetch-remote.ts, host keys pinned in ssh_known_hosts), or a
 * file uploaded through the browser (upload.ts). Knows nothing of restore:
 * the caller checks, uses and removes the file. Server-only (ssh2, the database).
 */
export { SourceError, isSourceError, type SourceFailure } from './errors';
export { fetchRemoteFile, probeHostKey, type FetchedFile, type FetchRemoteOptions, type HostKeyProbe } from './fetch-remote';
export { pinHostKey, pinnedHostKey } from './known-hosts';
export { formatRemoteUrl, parseRemoteUrl, RemoteUrlError, type RemoteLocation, type RemoteProtocol } from './remote-url';
export { receiveUpload, UPLOAD_FILE_NAME_HEADER, type ReceivedFile, type ReceiveUploadOptions, type UploadBody } from './upload';
export type { RemoteCredentials, RemoteSource, RemoteSourceInput } from './schemas';
