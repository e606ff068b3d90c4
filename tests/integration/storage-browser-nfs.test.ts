import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';
import { NfsShare } from '@/lib/nfs/nfs-share';
import { childUrl } from '@/lib/storage/child-url';

/**
 * The storage browser and Backup Details over NFS 4.0, 4.1 and 4.2, through
 * the built console's JSON API, against nfs-ganesha: browse a folder of
 * hundreds of entries page by page, filter, One level up, Storage
 * Information equal to what libnfs' `nfs-ls -s` reports, Use This Location
 * (the probe file leaves nothing behind), a backup written there, shown in
 * the browser as a backup, and its details from the file's header and
 * manifest, with the checksum equal to the stored file's SHA-256.
 */
const DMS = 'storage browser nfs domain master secret';
const VERSIONS = ['4', '4.1', '4.2'] as const;
type Page = {
  url: string;
  path: string[];
  breadcrumbs: { name: string; url: string }[];
  parentUrl: string | null;
  childUrlPrefix: string;
  childUrlSuffix: string;
  entries: { name: string; type: string; size: number; isBackup: boolean }[];
  total: number;
  matched: number;
  nextCursor: string | null;
  info: { access: { read: boolean; write: boolean }; space: { totalBytes: number; freeBytes: number; usedBytes: number } | null; spaceWarning: string | null } | null;
  listedAt: number;
  stale: boolean;
};

let nfs: NfsServer;
let server: ConsoleServer;
let api: ConsoleClient;

function nfsLsSpace(): { free: number; total: number } {
  const out = execFileSync('nfs-ls', ['-s', nfs.v3url()], { encoding: 'utf8' });
  const m = /(\d+) of\s+(\d+) bytes free/.exec(out);
  if (!m) throw new Error(`nfs-ls -s said: ${out}`);
  return { free: Number(m[1]), total: Number(m[2]) };
}

async function browse(url: string, extra: Record<string, string> = {}) {
  return api.json<Page & { error?: { message: string } }>(`/api/storage/browse?${new URLSearchParams({ url, ...extra })}`);
}

async function waitForRun(id: number) {
  for (let i = 0; i < 600; i++) {
    const r = await api.json<{ run: { status: string; fileName: string; checksum: string; error: string | null } }>(`/api/backups/${id}`);
    if (r.body.run.status !== 'running') return r.body.run;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`backup #${id} did not end`);
}

beforeAll(async () => {
  // A quiet tmpfs export: its free space stays put between the console's answer and nfs-ls'.
  nfs = await startNfsServer({ sizeMiB: 256 });
  server = await startConsole();
  const otp = new ConsoleClient(server.url);
  expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
  const admin = { username: 'alice', password: 'alice password 0001' };
  expect((await otp.json('/api/users', 'POST', { ...admin, confirmPassword: admin.password, role: 'admin' })).status).toBe(200);
  api = new ConsoleClient(server.url);
  expect((await api.signIn(admin.username, admin.password)).ok).toBe(true);
  expect((await api.json('/api/backup/dms', 'PUT', { dms: DMS, dmsRepeat: DMS })).status).toBe(200);
  for (const v of VERSIONS) {
    const dir = path.join(nfs.exportDir, 'site', `v${v}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 450; i++) fs.writeFileSync(path.join(dir, `config-${i}.txt`), crypto.randomBytes(i % 7));
    for (const d of ['daily', 'weekly', 'Archive']) fs.mkdirSync(path.join(dir, d));
  }
  fs.symlinkSync('/etc', path.join(nfs.exportDir, 'site', 'to-etc'));
});

afterAll(async () => {
  await server?.stop();
  await nfs?.stop();
});

describe.each(VERSIONS)('storage browser over NFS %s', (v) => {
  const folder = () => nfs.url(v, `site/v${v}`);

  it('lists a folder of 453 entries page by page (folders first, natural order, each once), with breadcrumbs and One level up', async () => {
    const names: string[] = [];
    let res = await browse(folder(), { limit: '100' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const first = res.body;
    expect(first.total).toBe(453);
    expect(first.entries).toHaveLength(100);
    expect(first.entries.slice(0, 3).map((e) => [e.name, e.type])).toEqual([['Archive', 'directory'], ['daily', 'directory'], ['weekly', 'directory']]);
    names.push(...first.entries.map((e) => e.name));
    let pages = 1;
    while (res.body.nextCursor) {
      res = await browse(folder(), { limit: '100', cursor: res.body.nextCursor });
      expect(res.status).toBe(200);
      expect(res.body.info).toBeNull();
      names.push(...res.body.entries.map((e) => e.name));
      pages++;
    }
    expect(pages).toBe(5);
    expect(new Set(names).size).toBe(453);
    expect(names.indexOf('config-9.txt')).toBeLessThan(names.indexOf('config-10.txt'));
    expect(first.breadcrumbs.map((b) => b.name)).toEqual([`127.0.0.1:${new URL(folder().replace('nfs:', 'http:')).port}`, 'export', 'site', `v${v}`]);
    // One level up: the parent lists this folder.
    const up = await browse(first.parentUrl!);
    expect(up.status).toBe(200);
    expect(up.body.path).toEqual(['export', 'site']);
    expect(up.body.entries.find((e) => e.name === `v${v}`)?.type).toBe('directory');
    // A folder entry's URL opens one level down.
    const down = await browse(childUrl(first, first.entries[1]!.name));
    expect(down.body.path).toEqual(['export', 'site', `v${v}`, 'daily']);
    expect(down.body.total).toBe(0);
  });

  it('filters on the server and says how many of how many match', async () => {
    const res = await browse(folder(), { filter: 'CONFIG-44', limit: '5' });
    expect(res.body.total).toBe(453);
    expect(res.body.matched).toBe(11); // config-44, config-440 … config-449
    expect(res.body.entries).toHaveLength(5);
    expect(res.body.nextCursor).not.toBeNull();
  });

  it('shows Storage Information equal to what nfs-ls -s reports, and the permission the server grants', async () => {
    const res = await browse(folder());
    const peer = nfsLsSpace();
    const block = fs.statfsSync(nfs.exportDir).bsize;
    expect(res.body.info!.access).toEqual({ read: true, write: true });
    expect(Math.abs(res.body.info!.space!.totalBytes - peer.total)).toBeLessThanOrEqual(block);
    expect(Math.abs(res.body.info!.space!.freeBytes - peer.free)).toBeLessThanOrEqual(block);
    expect(res.body.info!.space!.usedBytes).toBe(res.body.info!.space!.totalBytes - res.body.info!.space!.freeBytes);
    const ro = await browse(nfs.readonly.url(v));
    expect(ro.body.info!.access).toEqual({ read: true, write: false });
  });

  it('uses this location (the probe leaves nothing), writes a backup there, shows it as a backup and reads its details from header and manifest', async () => {
    const target = (await browse(folder())).body.url;
    const before = fs.readdirSync(path.join(nfs.exportDir, 'site', `v${v}`)).length;
    const saved = await api.json<{ message: string }>('/api/backup/storage', 'PUT', { type: 'nfs', url: target });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.message).toBe('Successfully updated backup storage configuration.');
    expect(fs.readdirSync(path.join(nfs.exportDir, 'site', `v${v}`))).toHaveLength(before);

    const started = await api.json<{ run: { id: number } }>('/api/backups', 'POST', {});
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await waitForRun(started.body.run.id);
    expect(run.status, run.error ?? '').toBe('succeeded');
    const onDisk = path.join(nfs.exportDir, 'site', `v${v}`, run.fileName);
    const sha = crypto.createHash('sha256').update(fs.readFileSync(onDisk)).digest('hex');

    const listed = await browse(folder(), { filter: '.tar.age' });
    const entry = listed.body.entries.find((e) => e.name === run.fileName)!;
    expect(entry.isBackup).toBe(true);
    expect(entry.size).toBe(fs.statSync(onDisk).size);

    const details = await api.json<{ details: Record<string, unknown> & { contents: { parts: { label: string; files: number }[] } } }>(
      `/api/storage/details?${new URLSearchParams({ url: childUrl(listed.body, entry.name) })}`,
    );
    expect(details.status, JSON.stringify(details.body)).toBe(200);
    const d = details.body.details;
    expect(d).toMatchObject({ fileName: run.fileName, dms: 'this', signature: 'verified', checksum: sha, formatVersion: 1, verifiedAfterWriting: true });
    expect(d.contents.parts.map((p) => p.label)).toEqual(['Firmware configuration', 'System configuration', 'Internal database']);
    const fromHistory = await api.json<{ details: Record<string, unknown> }>(`/api/backups/${started.body.run.id}/details`);
    expect(fromHistory.status, JSON.stringify(fromHistory.body)).toBe(200);
    expect(fromHistory.body.details).toMatchObject({ fileName: run.fileName, checksum: sha, signature: 'verified' });
  });
});

describe('storage browser over NFS: a folder that changes while it is browsed', () => {
  it('pages continue their own listing; kept=1 answers with the kept listing marked stale while the folder is read again; without it the answer waits for the new reading', async () => {
    fs.mkdirSync(path.join(nfs.exportDir, 'site', 'changing'));
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(nfs.exportDir, 'site', 'changing', `config-${i}.txt`), 'x');
    const url = nfs.url('4.1', 'site/changing');
    const names = (p: Page) => p.entries.map((e) => e.name);
    const first = (await browse(url, { limit: '10', kept: '1' })).body;
    // Nothing was kept of the folder: it is read now.
    expect(first.stale).toBe(false);
    expect(first.total).toBe(30);
    // A change made through NFS, as another client would (ganesha sees it; the folder's modification time moves).
    const peer = await NfsShare.open(url);
    try {
      const w = await peer.createFile('AAA-new.txt');
      await w.commit();
      // The second page comes from the first page's listing: nothing skipped, nothing repeated, no new entry in the middle.
      const second = (await browse(url, { limit: '10', cursor: first.nextCursor! })).body;
      expect(second.total).toBe(30);
      expect(second.listedAt).toBe(first.listedAt);
      expect(names(second)).toEqual(Array.from({ length: 10 }, (_, i) => `config-${i + 10}.txt`));
      // The dialog's first page: the kept listing at once, said to be stale, with when it was read.
      const kept = await browse(url, { limit: '10', kept: '1' });
      expect(kept.status).toBe(200);
      expect(kept.body.stale).toBe(true);
      expect(kept.body.listedAt).toBe(first.listedAt);
      expect(kept.body.total).toBe(30);
      expect(names(kept.body)).not.toContain('AAA-new.txt');
      // Asked again without kept: the new reading (the one begun in the background, or a new one).
      const fresh = (await browse(url, { limit: '10' })).body;
      expect(fresh.stale).toBe(false);
      expect(fresh.total).toBe(31);
      expect(names(fresh)[0]).toBe('AAA-new.txt');
      expect(fresh.listedAt).toBeGreaterThan(first.listedAt);
      // The first page's cursor keeps its own listing, though the folder's newest is another now: no entry moves under it.
      const after = (await browse(url, { limit: '10', cursor: first.nextCursor! })).body;
      expect(after.total).toBe(30);
      expect(after.listedAt).toBe(first.listedAt);
      expect(names(after)).toEqual(names(second));
      // Unchanged since: kept=1 is simply the kept listing, not stale.
      const same = (await browse(url, { limit: '10', kept: '1' })).body;
      expect(same.stale).toBe(false);
      expect(same.listedAt).toBe(fresh.listedAt);
      // Without kept, a change is read before the answer.
      await peer.remove('AAA-new.txt');
      const removed = (await browse(url, { limit: '10' })).body;
      expect(removed.stale).toBe(false);
      expect(removed.total).toBe(30);
      expect(names(removed)).not.toContain('AAA-new.txt');
    } finally {
      await peer.close();
    }
  });

  it('refuses a kept value other than 1 in words', async () => {
    const res = await browse(nfs.url('4.1', 'site/changing'), { kept: 'yes' });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toMatch(/kept is 1, or left out/);
  });
});

describe('storage browser over NFS: faults in place', () => {
  it('a symbolic link on the share is not followed out of it, a missing folder and a file are said in words', async () => {
    const link = await browse(nfs.url('4.1', 'site/to-etc'));
    expect(link.status).toBe(422);
    expect(JSON.stringify(link.body)).not.toContain('passwd');
    const missing = await browse(nfs.url('4.1', 'site/nope'));
    expect(missing.status).toBe(404);
    expect(missing.body.error!.message).toMatch(/no such file or folder|does not exist/);
    const file = await browse(nfs.url('4.1', 'site/v4.1/config-1.txt'));
    expect(file.status).toBe(422);
    expect(file.body.error!.message).toMatch(/not a folder/);
  });

  it('a server that is gone is said in words, and the browser works again when it is back', async () => {
    await nfs.kill();
    const gone = await browse(nfs.url('4.1', 'site'));
    expect([422, 404]).toContain(gone.status);
    expect(gone.body.error!.message).toMatch(/NFS share/);
    await nfs.restart();
    const back = await browse(nfs.url('4.1', 'site'));
    expect(back.status, JSON.stringify(back.body)).toBe(200);
  });
});
