import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { ArchiveReader, archiveSizeFor, planArchive, type SourceMember } from '@/lib/backup/archive';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tar-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function member(rel: string, size: number, fill = 7): SourceMember {
  const file = path.join(dir, `${Math.random()}`);
  const data = Buffer.alloc(size, fill);
  for (let i = 0; i < size; i += 97) data[i] = i & 0xff;
  fs.writeFileSync(file, data);
  const st = fs.statSync(file);
  return { path: rel, kind: 'system', size, source: file, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

/** What tar-stream itself packs for these members: the reference the layout must equal byte for byte. */
async function packed(manifestSize: number, mtime: Date, members: SourceMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c) => parts.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'manifest.json', size: manifestSize, mode: 0o600, mtime }, Buffer.alloc(manifestSize, 0x20));
  for (const m of members) pack.entry({ name: m.path, size: m.size, mode: 0o600, mtime: new Date(m.mtimeMs) }, fs.readFileSync(m.source));
  pack.finalize();
  await ended;
  return Buffer.concat(parts);
}

async function readAll(reader: ArchiveReader, size: number, step: number): Promise<Buffer> {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += step) await reader.fill(out.subarray(at, Math.min(size, at + step)), at);
  await reader.close();
  return out;
}

describe('planArchive and ArchiveReader', () => {
  const mtime = new Date(1_700_000_000_000);
  const members = [
    member('system/a.conf', 0),
    member('system/b.conf', 1),
    member(`system/${'d/'.repeat(60)}x.conf`, 513),
    member(`system/${'x'.repeat(150)}.conf`, 1000),
    member(`system/${'deep/'.repeat(120)}long.conf`, 70_000),
    member('system/réseau.conf', 10),
    member('database/webconf.db', 300_000, 3),
  ];

  it('produces exactly the archive tar-stream packs, for short, splittable, long and non-ASCII names, in ranges of any size', async () => {
    const layout = await planArchive(65024, mtime, members);
    const want = await packed(65024, mtime, members);
    expect(layout.size).toBe(want.length);
    for (const step of [1 << 20, 65536, 4096, 1000, 511]) {
      expect((await readAll(new ArchiveReader(layout, members), layout.size, step)).equals(want)).toBe(true);
    }
  });

  it("archiveSizeFor: the layout's size from names and sizes alone (what Quick verify expects of a file), for every kind of name", async () => {
    for (const list of [members, [], members.slice(2, 5), [member('system/c.conf', 512), member(`system/${'ü'.repeat(40)}`, 0)]]) {
      for (const manifestSize of [65024, 1, 130560]) {
        expect(await archiveSizeFor(manifestSize, list)).toBe((await planArchive(manifestSize, mtime, list)).size);
      }
    }
  });

  it('gives each member its byte range, which holds exactly that member\'s data', async () => {
    const layout = await planArchive(65024, mtime, members);
    const bytes = await readAll(new ArchiveReader(layout, members), layout.size, 1 << 20);
    expect(layout.memberRanges).toHaveLength(members.length);
    for (const [i, [start, end]] of layout.memberRanges.entries()) {
      expect(bytes.subarray(start, end).equals(fs.readFileSync(members[i]!.source))).toBe(true);
    }
  });

  it('fails the archive when a member changed after it was listed, or while it was read', async () => {
    const m = member('system/changing.conf', 200_000);
    const layout = await planArchive(65024, mtime, [m]);
    fs.appendFileSync(m.source, 'more');
    await expect(readAll(new ArchiveReader(layout, [m]), layout.size, 65536)).rejects.toThrow(/system\/changing.conf changed while the backup was being made/);

    const n = member('system/growing.conf', 200_000);
    const layout2 = await planArchive(65024, mtime, [n]);
    const reader = new ArchiveReader(layout2, [n]);
    const out = Buffer.alloc(layout2.size);
    await reader.fill(out.subarray(0, 100_000), 0);
    fs.writeFileSync(n.source, Buffer.alloc(10, 1));
    await expect(reader.fill(out.subarray(100_000), 100_000)).rejects.toThrow(/system\/growing.conf changed/);
    await reader.close();
  });
});
