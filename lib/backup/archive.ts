import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AppError } from '../errors';
import { BACKUP_SOURCES, NEVER_BACKED_UP, applianceRoot } from './appliance';
import type { HashPool } from './hash-pool';
import { MANIFEST_NAME, type ManifestMember } from './manifest';

/**
 * The archive inside a backup: a POSIX tar stream (pax headers for long
 * names) whose first member is manifest.json, followed by the members in the
 * manifest's order:
 *   manifest.json
 *   firmware/...            firmware configuration
 *   system/...              system configuration (cluster, network, database settings)
 *   database/webconf.db     consistent copy of the internal database
 */
/** A member and the identity of its source file when it was hashed: size, mtime, ctime and inode must still match when it is packed. */
export type SourceMember = ManifestMember & { source: string; mtimeMs: number; ctimeMs: number; ino: number };

function sameFile(a: { size: number; mtimeMs: number; ctimeMs: number; ino: number }, b: fs.Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

export const DATABASE_MEMBER = 'database/webconf.db';

async function walk(dir: string, rel: string, out: { abs: string; rel: string }[]): Promise<void> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if ((NEVER_BACKED_UP as readonly string[]).includes(e.name.toLowerCase())) continue;
    const abs = path.join(dir, e.name);
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(abs, r, out);
    else if (e.isFile()) out.push({ abs, rel: r });
  }
}

export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), hash, { signal });
  return hash.digest('hex');
}

/**
 * Lists and hashes the configuration files, then adds the database snapshot.
 * Hashing runs in the worker pool; a file whose identity changed while it
 * was hashed fails the backup.
 */
export async function collectMembers(databaseSnapshot: string, pool: HashPool, signal?: AbortSignal): Promise<SourceMember[]> {
  const found: { abs: string; rel: string; kind: SourceMember['kind'] }[] = [];
  for (const s of BACKUP_SOURCES) {
    const files: { abs: string; rel: string }[] = [];
    await walk(path.join(applianceRoot(), s.folder), s.folder, files);
    found.push(...files.map((f) => ({ ...f, kind: s.kind })));
  }
  found.push({ abs: databaseSnapshot, rel: DATABASE_MEMBER, kind: 'database' });
  const before = await Promise.all(found.map((f) => fsp.stat(f.abs)));
  const hashes = await pool.hashFiles(found.map((f) => f.abs), signal);
  const members: SourceMember[] = [];
  for (const [i, f] of found.entries()) {
    const st = before[i]!;
    if (!sameFile({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino }, await fsp.stat(f.abs))) throw changedDuringBackup(f.rel);
    members.push({ path: f.rel, kind: f.kind, size: st.size, sha256: hashes[i]!, source: f.abs, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
  }
  return members;
}

function changedDuringBackup(rel: string): AppError {
  return new AppError('conflict', `${rel} changed while the backup was being made. Start the backup again.`);
}

/** Bytes of tar for these members: 512-byte header (plus a pax header for long names), data padded to 512, two zero blocks. */
export function tarSize(manifestBytes: number, members: { path: string; size: number }[]): number {
  const block = (n: number) => Math.ceil(n / 512) * 512;
  let total = 512 + block(manifestBytes);
  for (const m of members) total += (Buffer.byteLength(m.path) > 99 ? 1536 : 512) + block(m.size);
  return total + 1024;
}

/** The tar stream: manifest first, then each member; a member that changed since it was hashed fails the archive. */
export function packArchive(manifest: Buffer, members: SourceMember[]): Readable {
  const pack = tar.pack();
  const mtime = new Date();
  const add = async (header: Parameters<typeof pack.entry>[0], body: Readable) => {
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      pipeline(body, entry as unknown as NodeJS.WritableStream).catch(reject);
    });
  };
  (async () => {
    await add({ name: MANIFEST_NAME, size: manifest.length, mode: 0o600, mtime }, Readable.from([manifest]));
    for (const m of members) {
      if (!sameFile(m, await fsp.stat(m.source))) throw changedDuringBackup(m.path);
      await add({ name: m.path, size: m.size, mode: 0o600, mtime: new Date(m.mtimeMs) }, fs.createReadStream(m.source, { highWaterMark: 1 << 20 }));
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  // tar-stream's streams are streamx streams; they pipe like Node's.
  return pack as unknown as Readable;
}
