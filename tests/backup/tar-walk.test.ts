import crypto from 'node:crypto';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TarFormatError, TarWalker, type TarEntry } from '@/lib/backup/tar-walk';

/**
 * The tar walker against what tar-stream (which writes our archives) packs:
 * plain ustar names, names split into prefix and name, pax headers for long
 * and non-ASCII names, empty members, the end blocks; fed in pieces of
 * every size, it must find the same entries and exactly their bytes.
 */
async function pack(entries: { name: string; data: Buffer; type?: 'file' | 'directory' }[]): Promise<Buffer> {
  const p = tar.pack();
  const parts: Buffer[] = [];
  p.on('data', (c) => parts.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ name: e.name, size: e.data.length, type: e.type ?? 'file', mode: 0o600, mtime: new Date(0) }, e.data, (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(parts);
}

/** Walks `archive` fed in `piece`-byte pieces: each entry with its data. */
function walk(archive: Buffer, piece: number): { entry: TarEntry; data: Buffer }[] {
  const w = new TarWalker();
  const out: { entry: TarEntry; data: Buffer[] }[] = [];
  let open = false;
  for (let at = 0; at < archive.length; at += piece) {
    const p = archive.subarray(at, at + piece);
    for (const ev of w.feed(p)) {
      if (ev.kind === 'entry') {
        expect(open).toBe(false);
        out.push({ entry: ev.entry, data: [] });
        open = true;
      } else if (ev.kind === 'data') out.at(-1)!.data.push(Buffer.from(p.subarray(ev.start, ev.end)));
      else {
        expect(open).toBe(true);
        open = false;
      }
    }
  }
  w.end();
  return out.map((e) => ({ entry: e.entry, data: Buffer.concat(e.data) }));
}

const files = [
  { name: 'manifest.json', data: Buffer.from('{"a":1}'.padEnd(70_000)) },
  { name: 'firmware/empty.conf', data: Buffer.alloc(0) },
  { name: `system/${'deep/'.repeat(30)}long-name.conf`, data: crypto.randomBytes(1000) },
  { name: `system/${'x'.repeat(90)}/${'y'.repeat(90)}.bin`, data: crypto.randomBytes(512) },
  { name: 'system/réseau/interfaces', data: Buffer.from('eth0 dhcp\n') },
  { name: 'database/webconf.db', data: crypto.randomBytes(200_001) },
];

describe('TarWalker', () => {
  it.each([1, 100, 511, 512, 513, 4096, 65536, 1 << 20])("finds tar-stream's entries and exactly their bytes, fed %i bytes at a time", async (piece) => {
    const archive = await pack(files);
    const got = walk(archive, piece);
    expect(got.map((e) => e.entry.name)).toEqual(files.map((f) => f.name));
    for (const [i, f] of files.entries()) {
      expect(got[i]!.entry).toEqual({ name: f.name, size: f.data.length, type: '0' });
      expect(got[i]!.data.equals(f.data)).toBe(true);
    }
  });

  it('reports other entry types as they are', async () => {
    const got = walk(await pack([{ name: 'system/folder', data: Buffer.alloc(0), type: 'directory' }]), 512);
    expect(got.map((e) => e.entry)).toEqual([{ name: 'system/folder', size: 0, type: '5' }]);
  });

  it('refuses a damaged header, and an archive that ends inside an entry or a header', async () => {
    const archive = await pack(files.slice(0, 1));
    const bad = Buffer.from(archive);
    bad[10]! ^= 1;
    expect(() => walk(bad, 512)).toThrow(TarFormatError);
    expect(() => walk(bad, 512)).toThrow(/checksum/);
    expect(() => walk(archive.subarray(0, 10_000), 512)).toThrow(/ends inside manifest\.json/);
    expect(() => walk(archive.subarray(0, 300), 512)).toThrow(/ends inside a tar header/);
  });
});
