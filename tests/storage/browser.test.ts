import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The local storage root is the temp folder, which also holds this test's data folder (tests/setup/unit-env.ts).
process.env.WEBCONF_LOCAL_STORAGE_ROOT = os.tmpdir();
const { browse, checkBrowsableFile, forgetListings } = await import('@/lib/storage/browser');
const { LocalFolderTarget } = await import('@/lib/storage/local-folder');
const { childUrl } = await import('@/lib/storage/child-url');
const { dataDir } = await import('@/lib/env');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-browse-'));
const url = (...parts: string[]) => `file://${[root, ...parts].join('/')}`;
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  const big = path.join(root, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 2500; i++) fs.writeFileSync(path.join(big, `file-${i}.dat`), '');
  for (const d of ['zeta', 'Alpha', 'beta']) fs.mkdirSync(path.join(big, d));
  fs.writeFileSync(path.join(big, 'site-a-web01-20261122T043000Z.tar.age'), 'x');
  fs.writeFileSync(path.join(big, '.site-a-web01-20261122T043000Z.tar.age.partial'), 'x');
  fs.mkdirSync(path.join(root, 'odd'));
  for (const n of ['say "hi"\\.txt', 'ünïcødé-2.txt', 'v1.10.2', 'v1.9.2', 'v01.9.3', 'x007y08', 'x7y8z', '0', '00']) fs.writeFileSync(path.join(root, 'odd', n), 'data');
  fs.symlinkSync('/etc', path.join(root, 'outside'));
  fs.mkdirSync(path.join(root, 'inside'));
  fs.symlinkSync(path.join(root, 'inside'), path.join(root, 'to-inside'));
});

async function all(u: string, filter?: string, limit = 300) {
  const names: string[] = [];
  let page = await browse(u, { filter, limit });
  const first = page;
  names.push(...page.entries.map((e) => e.name));
  while (page.nextCursor) {
    page = await browse(u, { filter, limit, cursor: page.nextCursor });
    expect(page.info).toBeNull();
    names.push(...page.entries.map((e) => e.name));
  }
  return { first, names };
}

describe('storage browser on a local folder', () => {
  it('pages a big folder, folders first, in natural order, every entry once, with counts and Storage Information on the first page', async () => {
    const { first, names } = await all(url('big'));
    expect(first.total).toBe(2505);
    expect(first.matched).toBe(2505);
    expect(first.entries).toHaveLength(300);
    expect(names).toHaveLength(2505);
    expect(new Set(names).size).toBe(2505);
    expect(names.slice(0, 3)).toEqual(['Alpha', 'beta', 'zeta']);
    expect(names.indexOf('file-9.dat')).toBeLessThan(names.indexOf('file-10.dat'));
    expect(names.indexOf('file-99.dat')).toBeLessThan(names.indexOf('file-100.dat'));
    expect(first.info?.access).toEqual({ read: true, write: true });
    expect(first.info?.space?.totalBytes).toBeGreaterThan(0);
    expect(first.breadcrumbs.at(-1)).toEqual({ name: 'big', url: url('big') });
    expect(first.parentUrl).toBe(url());
  });

  it('marks finished backups, not partial files, and gives every entry its URL', async () => {
    const page = await browse(url('big'), { filter: 'tar.age' });
    expect(page.matched).toBe(2);
    const finished = page.entries.find((e) => !e.name.startsWith('.'))!;
    expect(finished.isBackup).toBe(true);
    expect(childUrl(page, finished.name)).toBe(url('big', 'site-a-web01-20261122T043000Z.tar.age'));
    expect(page.entries.find((e) => e.name.startsWith('.'))!.isBackup).toBe(false);
  });

  it('filters on the server, case-insensitively, and says how many match', async () => {
    const { first, names } = await all(url('big'), 'FILE-12', 7);
    expect(first.total).toBe(2505);
    expect(first.matched).toBe(111); // file-12, file-120..129, file-1200..1299
    expect(names).toHaveLength(111);
    expect(names.every((n) => n.startsWith('file-12'))).toBe(true);
  });

  it('orders runs of digits by value, leading zeros ignored, ties by the exact name', async () => {
    const names = (await browse(url('odd'))).entries.map((e) => e.name);
    // x007y08 before x7y8z: equal runs, and the shorter name's key is a prefix of the other's.
    expect(names).toEqual(['0', '00', 'say "hi"\\.txt', 'v1.9.2', 'v01.9.3', 'v1.10.2', 'x007y08', 'x7y8z', 'ünïcødé-2.txt']);
  });

  it('pages after the first continue the listing the first came from while it is kept, however the folder changes', async () => {
    // The first page ends with file-5.dat (three folders and a partial file first); file-6.5.dat would open the second in a new reading.
    const p1 = await browse(url('big'), { limit: 10 });
    expect(p1.entries.at(-1)!.name).toBe('file-5.dat');
    fs.writeFileSync(path.join(root, 'big', 'file-6.5.dat'), '');
    try {
      const p2 = await browse(url('big'), { limit: 10, cursor: p1.nextCursor! });
      expect(p2.total).toBe(2505);
      expect(p2.listedAt).toBe(p1.listedAt);
      expect(p2.stale).toBe(false);
      expect(p2.entries[0]!.name).toBe('file-6.dat');
      // A new first page reads the changed folder; a local one is read at once even when a kept listing is welcome.
      const again = await browse(url('big'), { limit: 10, kept: true });
      expect(again.stale).toBe(false);
      expect(again.total).toBe(2506);
      // The first page's cursor still has its own listing, though the folder's newest is another now.
      const p2again = await browse(url('big'), { limit: 10, cursor: p1.nextCursor! });
      expect(p2again.total).toBe(2505);
      expect(p2again.listedAt).toBe(p1.listedAt);
      expect(p2again.entries.map((e) => e.name)).toEqual(p2.entries.map((e) => e.name));
    } finally {
      fs.rmSync(path.join(root, 'big', 'file-6.5.dat'));
    }
  });

  it('continues after the last entry shown from a new reading once the first page\'s listing is gone', async () => {
    const p1 = await browse(url('big'), { limit: 10 });
    expect(p1.entries.at(-1)!.name).toBe('file-5.dat');
    fs.writeFileSync(path.join(root, 'big', 'file-6.5.dat'), '');
    try {
      forgetListings();
      const p2 = await browse(url('big'), { limit: 10, cursor: p1.nextCursor! });
      expect(p2.total).toBe(2506);
      // Right after file-5.dat in the new reading: the new file, then the rest.
      expect(p2.entries.slice(0, 2).map((e) => e.name)).toEqual(['file-6.5.dat', 'file-6.dat']);
      // A cursor from before listings had ids (no `s`) works the same way.
      const old = Buffer.from(JSON.stringify({ t: 'file', n: p1.entries.at(-1)!.name })).toString('base64url');
      expect((await browse(url('big'), { limit: 10, cursor: old })).entries.map((e) => e.name)).toEqual(p2.entries.map((e) => e.name));
    } finally {
      fs.rmSync(path.join(root, 'big', 'file-6.5.dat'));
    }
  });

  it('refuses a symbolic link that leads outside, follows one that stays inside', async () => {
    await expect(browse(url('outside'))).rejects.toThrow(/leads outside the storage location/);
    expect((await browse(url('to-inside'))).total).toBe(0);
  });

  it('never shows the console data folder, nor lets one browse into it', async () => {
    const parent = `file://${path.dirname(dataDir())}`;
    const { names } = await all(parent, path.basename(dataDir()));
    expect(names).not.toContain(path.basename(dataDir()));
    await expect(browse(`file://${dataDir()}`)).rejects.toThrow(/data folder is not shown/);
  });

  it('details follow the same rules: a file behind a link out of the root, a link itself, the data folder are refused', async () => {
    const target = new LocalFolderTarget(os.tmpdir());
    const rel = path.relative(os.tmpdir(), root);
    await expect(checkBrowsableFile(target, [rel, 'outside', 'passwd'])).rejects.toThrow(/leads outside the storage location/);
    fs.symlinkSync('/etc/passwd', path.join(root, 'inside', 'link.tar.age'));
    await expect(checkBrowsableFile(target, [rel, 'inside', 'link.tar.age'])).rejects.toThrow(/is not a file/);
    await expect(checkBrowsableFile(target, [path.basename(dataDir()), 'webconf.db'])).rejects.toThrow(/data folder is not shown/);
    fs.writeFileSync(path.join(root, 'inside', 'ok.tar.age'), 'x');
    await expect(checkBrowsableFile(target, [rel, 'inside', 'ok.tar.age'])).resolves.toBeUndefined();
    fs.rmSync(path.join(root, 'inside', 'link.tar.age'));
    fs.rmSync(path.join(root, 'inside', 'ok.tar.age'));
  });

  it('refuses locations outside the local storage root and a bad cursor, in words', async () => {
    await expect(browse('file:///etc')).rejects.toThrow(/inside/);
    await expect(browse(url('big'), { cursor: 'not-a-cursor' })).rejects.toThrow(/cursor is not valid/);
    // Well-formed JSON that is not a cursor: another type, an empty or huge name, a bad listing id, a key too many.
    const bad = [
      { t: 'link', n: 'a' },
      { t: 'file', n: '' },
      { t: 'file', n: 'x'.repeat(4097) },
      { t: 'file', n: 'a', s: -1 },
      { t: 'file', n: 'a', s: 1.5 },
      { t: 'file', n: 'a', s: '1' },
      { t: 'file', n: 'a', s: 1, path: '../..' },
      ['file', 'a'],
      null,
    ];
    for (const c of bad) {
      const cursor = Buffer.from(JSON.stringify(c)).toString('base64url');
      await expect(browse(url('big'), { cursor }), JSON.stringify(c)).rejects.toThrow(/cursor is not valid: start from the first page/);
    }
  });

  it('says in words when a folder is missing or is a file', async () => {
    await expect(browse(url('nope'))).rejects.toThrow(/does not exist/);
    await expect(browse(url('big', 'file-1.dat'))).rejects.toThrow(/not a folder/);
  });
});
