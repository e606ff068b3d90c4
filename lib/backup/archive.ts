import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AppError } from '../errors';
import { BACKUP_SOURCES, NEVER_BACKED_UP, applianceRoot } from './appliance';
import { MANIFEST_NAME, type ManifestMember } from './manifest';

/**
 * The archive inside a backup: a POSIX tar stream (pax headers for long
 * names) whose first member is manifest.json, followed by the members in the
 * manifest's order:
 *   manifest.json           padded with spaces so that its tar header and data
 *                           fill whole 64 KiB chunks (see engine.ts: the
 *                           manifest is written last, into reserved chunks)
 *   firmware/...            firmware configuration
 *   system/...              system configuration (cluster, network, database settings)
 *   database/webconf.db     consistent copy of the internal database
 */
export type SourceMember = Omit<ManifestMember, 'sha256'> & { source: string; mtimeMs: number; ctimeMs: number; ino: number };

export const DATABASE_MEMBER = 'database/webconf.db';
export const TAR_BLOCK = 512;

function sameFile(a: { size: number; mtimeMs: number; ctimeMs: number; ino: number }, b: fs.Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

async function walk(dir: string, rel: string, out: { abs: string; rel: string }[], skipped: string[]): Promise<void> {
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
    if (e.isDirectory()) await walk(abs, r, out, skipped);
    else if (e.isFile()) out.push({ abs, rel: r });
    // Symbolic links, sockets, devices: not followed and not taken, but named in the manifest.
    else skipped.push(r);
  }
}

/**
 * The configuration files and the database snapshot, with their sizes as the
 * tar headers will state them; `skipped` names what is neither a file nor a
 * folder (symbolic links and special files), which a backup does not take.
 */
export async function listMembers(databaseSnapshot: string, skipped: string[] = []): Promise<SourceMember[]> {
  const found: { abs: string; rel: string; kind: SourceMember['kind'] }[] = [];
  for (const s of BACKUP_SOURCES) {
    const files: { abs: string; rel: string }[] = [];
    await walk(path.join(applianceRoot(), s.folder), s.folder, files, skipped);
    found.push(...files.map((f) => ({ ...f, kind: s.kind })));
  }
  found.push({ abs: databaseSnapshot, rel: DATABASE_MEMBER, kind: 'database' });
  return Promise.all(
    found.map(async (f) => {
      const st = await fsp.stat(f.abs);
      return { path: f.rel, kind: f.kind, size: st.size, source: f.abs, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
    }),
  );
}

function changedDuringBackup(rel: string): AppError {
  return new AppError('conflict', `${rel} changed while the backup was being made. Start the backup again.`);
}

const block = (n: number) => Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;

/** Bytes of header for a name, by tar-stream's rule: ustar (name ≤ 100, prefix ≤ 155, ASCII) or a pax header before it. */
function headerBytes(name: string): number {
  let rest = name;
  let prefix = '';
  let ustar = Buffer.byteLength(name) === name.length;
  while (ustar && Buffer.byteLength(rest) > 100) {
    const i = rest.indexOf('/');
    if (i === -1) ustar = false;
    else {
      prefix += prefix ? `/${rest.slice(0, i)}` : rest.slice(0, i);
      rest = rest.slice(i + 1);
    }
  }
  if (ustar && Buffer.byteLength(prefix) <= 155) return TAR_BLOCK;
  // pax record "<len> path=<name>\n", where <len> counts its own digits.
  const body = Buffer.byteLength(` path=${name}\n`);
  let len = body + 1;
  while (String(len).length + body !== len) len = String(len).length + body;
  return TAR_BLOCK + block(len) + TAR_BLOCK;
}

/** Bytes of tar for these members, exactly as packArchive writes them: headers, data padded to 512, two zero blocks. */
export function tarSize(manifestBytes: number, members: { path: string; size: number }[]): number {
  let total = TAR_BLOCK + block(manifestBytes);
  for (const m of members) total += headerBytes(m.path) + block(m.size);
  return total + 2 * TAR_BLOCK;
}

/** Size of the manifest member's data so that its header and data fill whole chunks of `chunk` bytes. */
export function reservedManifestSize(manifestJsonBytes: number, chunk: number): number {
  return Math.ceil((TAR_BLOCK + manifestJsonBytes) / chunk) * chunk - TAR_BLOCK;
}

/** The manifest JSON padded with spaces (valid JSON whitespace) to exactly `size` bytes. */
export function padManifest(json: string, size: number): Buffer {
  const bytes = Buffer.from(json);
  if (bytes.length > size) throw new Error('manifest larger than its reserved space');
  return Buffer.concat([bytes, Buffer.alloc(size - bytes.length, 0x20)]);
}

/** The first bytes of the archive: the manifest member's tar header and padded data. */
export async function manifestEntry(padded: Buffer, mtime: Date): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: MANIFEST_NAME, size: padded.length, mode: 0o600, mtime }, padded);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts).subarray(0, TAR_BLOCK + padded.length);
}

/**
 * The tar stream: the manifest member (placeholder data of its reserved
 * size), then each member read once, through `tap(member)` (the engine's
 * hash of exactly the bytes packed). A member whose file changed since it
 * was listed, or while it was packed, fails the archive.
 */
export function packArchive(manifestSize: number, mtime: Date, members: SourceMember[], tap: (m: SourceMember) => Transform): Readable {
  const pack = tar.pack();
  const add = async (header: Parameters<typeof pack.entry>[0], body: Readable) => {
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      pipeline(body, entry as unknown as NodeJS.WritableStream).catch(reject);
    });
  };
  (async () => {
    await add({ name: MANIFEST_NAME, size: manifestSize, mode: 0o600, mtime }, Readable.from([Buffer.alloc(manifestSize, 0x20)]));
    for (const m of members) {
      if (!sameFile(m, await fsp.stat(m.source))) throw changedDuringBackup(m.path);
      const body = m.size === 0 ? Readable.from([]) : fs.createReadStream(m.source, { highWaterMark: 1 << 20, start: 0, end: m.size - 1 });
      await add({ name: m.path, size: m.size, mode: 0o600, mtime: new Date(m.mtimeMs) }, body.pipe(tap(m)));
      if (!sameFile(m, await fsp.stat(m.source))) throw changedDuringBackup(m.path);
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  // tar-stream's streams are streamx streams; they pipe like Node's.
  return pack as unknown as Readable;
}

/** Drops the first `n` bytes of a stream (the placeholder manifest, written later into its reserved chunks). */
export function skipBytes(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left >= chunk.length) {
        left -= chunk.length;
        return cb();
      }
      const rest = left ? chunk.subarray(left) : chunk;
      left = 0;
      cb(null, rest);
    },
  });
}
