import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Actor } from '../audit/audit';
import { audit } from '../audit/audit';
import { AppError } from '../errors';
import { fetchRemoteFile, formatRemoteUrl, receiveUpload, type RemoteSource, type UploadBody } from '../sources';
import { exists } from './durable-fs';
import { incomingDir, restoreRoot } from './paths';
import type { RestoreSource } from './restore';

/**
 * Backup files brought to the appliance for a restore: uploaded through the
 * browser or fetched from a remote host, kept in <data>/restore/incoming
 * (0600) under the name the source module gave them, with a small JSON
 * beside each saying where it came from. They are removed when the restore
 * that used them ends, when an admin discards them, or after a day.
 */
export const MAX_INCOMING_BYTES = 64 * 1024 ** 3;
const KEEP_MS = 24 * 3600_000;

export const incomingIdSchema = z.string().regex(/^(upload|remote)-[0-9a-f]{8,64}\.part$/, 'Unknown uploaded file.');

const metaSchema = z.object({ origin: z.enum(['upload', 'sftp', 'scp']), label: z.string(), fileName: z.string(), size: z.number(), sha256: z.string(), at: z.string(), by: z.string() });
export type IncomingFile = z.infer<typeof metaSchema> & { id: string };

function remember(file: string, meta: z.infer<typeof metaSchema>): IncomingFile {
  fs.writeFileSync(`${file}.json`, JSON.stringify(meta), { mode: 0o600 });
  return { ...meta, id: path.basename(file) };
}

function ensureDir(): string {
  const dir = incomingDir();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export async function acceptUpload(actor: Actor, body: UploadBody, o: { fileName: string; total?: number; signal?: AbortSignal }): Promise<IncomingFile> {
  pruneIncoming();
  try {
    const got = await receiveUpload(body, { dir: ensureDir(), maxBytes: MAX_INCOMING_BYTES, total: o.total, signal: o.signal });
    const meta = { origin: 'upload' as const, label: `uploaded file ${o.fileName}`, fileName: o.fileName, size: got.size, sha256: got.sha256, at: new Date().toISOString(), by: actor.name };
    audit(actor, 'backup.restore.upload', 'success', { target: o.fileName, detail: { size: got.size } });
    return remember(got.path, meta);
  } catch (err) {
    audit(actor, 'backup.restore.upload', 'failure', { target: o.fileName, detail: { reason: (err as Error).message } });
    forgetEmptyRestoreFolders();
    throw err;
  }
}

export async function fetchIncoming(actor: Actor, source: RemoteSource, o: { signal?: AbortSignal; expectedFingerprint?: string } = {}): Promise<IncomingFile> {
  pruneIncoming();
  const label = formatRemoteUrl(source);
  try {
    const got = await fetchRemoteFile(source, { dir: ensureDir(), maxBytes: MAX_INCOMING_BYTES, signal: o.signal, expectedFingerprint: o.expectedFingerprint });
    const meta = { origin: source.protocol, label, fileName: path.posix.basename(source.path), size: got.size, sha256: got.sha256, at: new Date().toISOString(), by: actor.name };
    audit(actor, 'backup.restore.fetch', 'success', { target: label, detail: { size: got.size } });
    return remember(got.path, meta);
  } catch (err) {
    audit(actor, 'backup.restore.fetch', 'failure', { target: label, detail: { reason: (err as Error).message } });
    forgetEmptyRestoreFolders();
    throw err;
  }
}

/** A refused upload or fetch leaves the data folder as it found it: no empty folders behind. */
export function forgetEmptyRestoreFolders(): void {
  for (const dir of [incomingDir(), restoreRoot()]) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty, or not there
    }
  }
}

export function incomingFile(id: string): IncomingFile {
  const parsed = incomingIdSchema.safeParse(id);
  const file = parsed.success ? path.join(incomingDir(), parsed.data) : null;
  if (!file || !exists(file) || !exists(`${file}.json`)) throw new AppError('not_found', 'That uploaded file is no longer on the appliance: upload or fetch it again.');
  const meta = metaSchema.parse(JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')));
  return { ...meta, id: parsed.data! };
}

/** The restore source for an incoming file; the restore removes it when it ends. */
export function incomingSource(id: string, opts: { removeAfter: boolean }): RestoreSource {
  const f = incomingFile(id);
  return { kind: 'file', path: path.join(incomingDir(), f.id), origin: f.origin, label: f.label, removeAfter: opts.removeAfter, displayName: f.fileName };
}

export function discardIncoming(id: string): void {
  const f = incomingFile(id);
  const file = path.join(incomingDir(), f.id);
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.json`, { force: true });
}

/** Removes incoming files older than a day, and a side file whose backup file is gone. */
export function pruneIncoming(now = Date.now()): void {
  const dir = incomingDir();
  for (const name of exists(dir) ? fs.readdirSync(dir) : []) {
    const p = path.join(dir, name);
    const base = name.endsWith('.json') ? p.slice(0, -5) : p;
    try {
      if (!exists(base) || now - fs.statSync(p).mtimeMs > KEEP_MS) fs.rmSync(p, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
