import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
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

/**
 * One member's tar header as tar-stream writes it (ustar, or a pax header
 * before it for names ustar cannot hold), taken from tar-stream itself so
 * the archive is exactly the one it would pack. tar-stream does not export
 * its header encoder; a pack emits an entry's header as soon as the entry
 * is opened, so the header is read from a pack that is then dropped.
 */
export async function tarHeader(header: { name: string; size: number; mode: number; mtime: Date }): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c) => parts.push(c as Buffer));
  pack.on('error', () => undefined);
  pack.entry({ ...header, type: 'file' });
  // The header ends with the ustar block of the file itself (typeflag "0").
  const complete = () => {
    const all = Buffer.concat(parts);
    return all.length >= TAR_BLOCK && all.length % TAR_BLOCK === 0 && all[all.length - TAR_BLOCK + 156] === 0x30 ? all : null;
  };
  try {
    for (let i = 0; i < 100; i++) {
      const done = complete();
      if (done) return done;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no tar header for ${header.name}`);
  } finally {
    pack.destroy();
  }
}

/**
 * Where every byte of the archive comes from, planned before anything is
 * read (sizes come from the listing; a member that changes fails the
 * backup). Pieces tile [0, size) in order:
 *   bytes   a tar header (or the manifest placeholder, or the end blocks)
 *   file    `length` bytes of member `member` from its byte `offset`
 *   zero    padding to the next 512-byte block
 * With the layout known, any range of the archive can be produced on its
 * own: the engine fills 1 MiB slots in order and hands them to the workers
 * that hash members (memberRanges) and encrypt chunks.
 */
export type ArchivePiece = { at: number; length: number } & ({ kind: 'bytes'; data: Buffer } | { kind: 'file'; member: number; offset: number } | { kind: 'zero' });

export type ArchiveLayout = {
  size: number;
  pieces: ArchivePiece[];
  /** [start, end) of each member's data in the archive, in member order. */
  memberRanges: [number, number][];
};

export async function planArchive(manifestSize: number, mtime: Date, members: SourceMember[]): Promise<ArchiveLayout> {
  const pieces: ArchivePiece[] = [];
  const memberRanges: [number, number][] = [];
  let at = 0;
  const bytes = (data: Buffer) => {
    pieces.push({ kind: 'bytes', at, length: data.length, data });
    at += data.length;
  };
  const pad = (n: number) => {
    const z = block(n) - n;
    if (z) pieces.push({ kind: 'zero', at, length: z });
    at += z;
  };
  bytes(await tarHeader({ name: MANIFEST_NAME, size: manifestSize, mode: 0o600, mtime }));
  bytes(Buffer.alloc(manifestSize, 0x20));
  pad(manifestSize);
  for (const [i, m] of members.entries()) {
    bytes(await tarHeader({ name: m.path, size: m.size, mode: 0o600, mtime: new Date(m.mtimeMs) }));
    memberRanges.push([at, at + m.size]);
    if (m.size) pieces.push({ kind: 'file', at, length: m.size, member: i, offset: 0 });
    at += m.size;
    pad(m.size);
  }
  bytes(Buffer.alloc(2 * TAR_BLOCK));
  return { size: at, pieces, memberRanges };
}

/**
 * The size of the archive planArchive lays out for a manifest member of
 * `manifestSize` bytes and these members, from names and sizes alone: what
 * a reader of the manifest (Quick verify) expects the file to be. A tar
 * header's length depends on the name (a pax header comes first for a name
 * ustar cannot hold) and the size, not on the mode or time; a plain ASCII
 * name of at most 100 bytes always fits one 512-byte block.
 */
export async function archiveSizeFor(manifestSize: number, members: readonly { path: string; size: number }[]): Promise<number> {
  // ustar's size field holds 11 octal digits: below 8 GiB, no extension is needed.
  const headerLength = async (name: string, size: number) =>
    /^[\x20-\x7e]{1,100}$/.test(name) && size < 8 ** 11 ? TAR_BLOCK : (await tarHeader({ name, size, mode: 0o600, mtime: new Date(0) })).length;
  let at = (await headerLength(MANIFEST_NAME, manifestSize)) + block(manifestSize);
  for (const m of members) at += (await headerLength(m.path, m.size)) + block(m.size);
  return at + 2 * TAR_BLOCK;
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
  return Buffer.concat([await tarHeader({ name: MANIFEST_NAME, size: padded.length, mode: 0o600, mtime }), padded]);
}

/**
 * Produces ranges of the archive, in increasing order, from its layout. Each
 * member's file is opened when its first byte is needed and closed after its
 * last, and must be the file that was listed (same inode, size, times) both
 * when opened and when done: a member that changes fails the archive.
 */
export class ArchiveReader {
  private piece = 0;
  private open: { member: number; handle: fsp.FileHandle } | null = null;

  constructor(
    private readonly layout: ArchiveLayout,
    private readonly members: SourceMember[],
  ) {}

  /** Fills `out` with the archive's bytes from `at` (at most one call per range, ranges in increasing order). */
  async fill(out: Buffer, at: number): Promise<void> {
    const end = at + out.length;
    if (end > this.layout.size) throw new RangeError('past the end of the archive');
    while (this.piece < this.layout.pieces.length && this.layout.pieces[this.piece]!.at + this.layout.pieces[this.piece]!.length <= at) this.piece++;
    for (let i = this.piece; i < this.layout.pieces.length; i++) {
      const p = this.layout.pieces[i]!;
      if (p.at >= end) break;
      const from = Math.max(at, p.at);
      const to = Math.min(end, p.at + p.length);
      const dest = out.subarray(from - at, to - at);
      if (p.kind === 'bytes') p.data.copy(dest, 0, from - p.at, to - p.at);
      else if (p.kind === 'zero') dest.fill(0);
      else await this.read(p.member, p.offset + (from - p.at), dest, to === p.at + p.length);
    }
  }

  private async read(index: number, position: number, dest: Buffer, last: boolean): Promise<void> {
    const m = this.members[index]!;
    if (this.open?.member !== index) {
      await this.close();
      const handle = await fsp.open(m.source, 'r');
      this.open = { member: index, handle };
      if (!sameFile(m, await handle.stat())) throw changedDuringBackup(m.path);
    }
    const { handle } = this.open;
    let got = 0;
    while (got < dest.length) {
      const { bytesRead } = await handle.read(dest, got, dest.length - got, position + got);
      if (bytesRead === 0) throw changedDuringBackup(m.path);
      got += bytesRead;
    }
    if (last) {
      const st = await handle.stat();
      await this.close();
      if (!sameFile(m, st) || !sameFile(m, await fsp.stat(m.source))) throw changedDuringBackup(m.path);
    }
  }

  async close(): Promise<void> {
    const o = this.open;
    this.open = null;
    await o?.handle.close();
  }
}
