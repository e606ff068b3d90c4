import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NfsError } from '@/lib/nfs/errors';
import { NfsShare } from '@/lib/nfs/nfs-share';
import { NFS_MAX_IO, startNfsServer, type NfsServer } from '../helpers/nfs-server';

/**
 * lib/nfs against a real NFS server (nfs-ganesha on loopback), for NFS 4.0,
 * 4.1 and 4.2: every operation of the API, sizes around the server's
 * maximum write, the faults that can be produced here, and libnfs' nfs-ls /
 * nfs-cp (NFSv3) as the independent peer.
 */
const VERSIONS = ['4', '4.1', '4.2'] as const;
let server: NfsServer;

beforeAll(async () => {
  // A tmpfs of its own: its free space changes only by what these tests write.
  server = await startNfsServer({ sizeMiB: 512 });
});
afterAll(async () => {
  await server?.stop();
});

async function readAll(share: NfsShare, p: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await share.readFile(p)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function writeAll(share: NfsShare, p: string, data: Buffer, piece = 3 << 20): Promise<void> {
  const w = await share.createFile(p);
  for (let i = 0; i < data.length; i += piece) await w.append(data.subarray(i, i + piece));
  await w.commit();
}

function nfsLs(url: string, flags: string[] = []): string {
  return execFileSync('nfs-ls', [...flags, url], { encoding: 'utf8', timeout: 20_000 });
}

/** nfs-ls lines: "-rw-r--r--  1     0     0            5 name" */
function nfsLsEntries(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const r = /^[-dl][rwxsStT-]{9}\s+\d+\s+\d+\s+\d+\s+(\d+)\s(.+)$/.exec(line);
    if (r) m.set(r[2]!, Number(r[1]));
  }
  return m;
}

async function expectNfsError(p: Promise<unknown>, code: RegExp, words: RegExp): Promise<NfsError> {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NfsError);
  const e = err as NfsError;
  expect(e.code).toMatch(code);
  expect(e.message).toMatch(words);
  expect(e.message).toMatch(/^nfs:\/\/\S+ \(NFS 4\.\d\): /);
  return e;
}

for (const version of VERSIONS) {
  describe(`NFS ${version === '4' ? '4.0' : version} against nfs-ganesha`, () => {
    let share: NfsShare;
    const dir = `v${version.replace('.', '')}`;
    beforeAll(async () => {
      share = await NfsShare.open(server.url(version), { timeoutMs: 15_000 });
      await share.mkdir(dir);
    });
    afterAll(async () => {
      await share?.close();
    });

    it('opens the share with the server\'s read and write sizes and lists a folder with names, types, sizes and times', async () => {
      expect(share.label).toMatch(new RegExp(`NFS ${version === '4' ? '4.0' : version}`));
      expect(share.maxWrite).toBe(NFS_MAX_IO);
      expect(share.maxRead).toBe(NFS_MAX_IO - 4096);
      fs.writeFileSync(path.join(server.exportDir, dir, 'made-on-disk.txt'), 'twelve bytes');
      await share.mkdir(`${dir}/sub`);
      const entries = await share.list(dir);
      const file = entries.find((e) => e.name === 'made-on-disk.txt')!;
      expect(file).toMatchObject({ type: 'file', size: 12 });
      expect(Math.abs(file.modifiedMs! - fs.statSync(path.join(server.exportDir, dir, 'made-on-disk.txt')).mtimeMs)).toBeLessThan(1000);
      expect(entries.find((e) => e.name === 'sub')).toMatchObject({ type: 'directory' });
      expect(fs.statSync(path.join(server.exportDir, dir, 'sub')).isDirectory()).toBe(true);
      expect(await share.stat(`${dir}/made-on-disk.txt`)).toMatchObject({ type: 'file', size: 12 });
      expect(await share.stat(`${dir}/nothing-here`)).toBeNull();
    });

    it('works in folders deeper than one COMPOUND\'s lookups: create, write, list, stat, rename, read, remove', async () => {
      const parts = Array.from({ length: 13 }, (_, i) => `level-${i}`);
      let p = dir;
      for (const part of parts) {
        p = `${p}/${part}`;
        await share.mkdir(p);
      }
      const data = crypto.randomBytes(3000);
      await writeAll(share, `${p}/deep.bin`, data);
      expect((await share.list(p)).map((e) => e.name)).toEqual(['deep.bin']);
      expect(await share.stat(`${p}/deep.bin`)).toMatchObject({ type: 'file', size: 3000 });
      expect(await share.stat(`${p}/missing/also-missing/x`)).toBeNull();
      await share.rename(`${p}/deep.bin`, `${dir}/level-0/level-1/moved.bin`);
      expect((await readAll(share, `${dir}/level-0/level-1/moved.bin`)).equals(data)).toBe(true);
      expect(fs.readFileSync(path.join(server.exportDir, dir, 'level-0', 'level-1', 'moved.bin')).equals(data)).toBe(true);
      await share.remove(`${dir}/level-0/level-1/moved.bin`);
      for (let q = p; q !== dir; q = q.slice(0, q.lastIndexOf('/'))) await share.remove(q);
      expect(fs.existsSync(path.join(server.exportDir, dir, 'level-0'))).toBe(false);
    });

    it('lists a folder larger than one READDIR reply', async () => {
      await share.mkdir(`${dir}/many`);
      const names = Array.from({ length: 700 }, (_, i) => `entry-with-a-longish-name-${String(i).padStart(4, '0')}.conf`);
      for (const n of names) fs.writeFileSync(path.join(server.exportDir, dir, 'many', n), '');
      const listed = await share.list(`${dir}/many`);
      expect(listed.map((e) => e.name)).toEqual(names);
    });

    it('reports total, free, available and used space as the file system has them', async () => {
      const s = await share.space();
      const st = fs.statfsSync(server.exportDir);
      const block = st.bsize;
      expect(Math.abs(s.totalBytes - st.blocks * block)).toBeLessThanOrEqual(block);
      // Other processes write to this disk meanwhile: within 64 MiB.
      expect(Math.abs(s.freeBytes - st.bfree * block)).toBeLessThan(64 << 20);
      expect(Math.abs(s.availableBytes - st.bavail * block)).toBeLessThan(64 << 20);
      expect(s.usedBytes).toBe(s.totalBytes - s.freeBytes);
    });

    it('says what it may do: read and write on the export, read only on the read-only and squashed exports', async () => {
      expect(await share.access()).toEqual({ read: true, write: true });
      expect(await share.access(dir)).toEqual({ read: true, write: true });
      const ro = await NfsShare.open(server.readonly.url(version), { timeoutMs: 15_000 });
      const sq = await NfsShare.open(server.squashed.url(version), { timeoutMs: 15_000 });
      try {
        expect((await ro.access()).read).toBe(true);
        expect((await ro.access()).write).toBe(false);
        expect(await sq.access()).toEqual({ read: true, write: false });
      } finally {
        await ro.close();
        await sq.close();
      }
    });

    const sizes = [0, 1, NFS_MAX_IO - 1, NFS_MAX_IO, NFS_MAX_IO + 1, 64 << 20];
    for (const size of sizes) {
      it(`writes ${size} bytes, committed, that read back byte-identical (through NFS and on the server's disk)`, async () => {
        const data = crypto.randomBytes(size);
        const name = `${dir}/file-${size}.bin`;
        await writeAll(share, name, data);
        const onDisk = fs.readFileSync(path.join(server.exportDir, name));
        expect(onDisk.length).toBe(size);
        expect(onDisk.equals(data)).toBe(true);
        const back = await readAll(share, name);
        expect(back.length).toBe(size);
        expect(back.equals(data)).toBe(true);
        expect((await share.stat(name))?.size).toBe(size);
        if (size > 1 << 20) await share.remove(name);
      });
    }

    it('reads chunk by chunk into a callback, in order, byte-identical, and stops on the callback\'s error', async () => {
      const data = crypto.randomBytes(40 * NFS_MAX_IO + 77);
      await writeAll(share, `${dir}/chunks.bin`, data);
      const hash = crypto.createHash('sha256');
      let at = 0;
      const total = await share.readChunks(`${dir}/chunks.bin`, async (chunk) => {
        expect(chunk.equals(data.subarray(at, at + chunk.length))).toBe(true);
        at += chunk.length;
        hash.update(chunk);
        await new Promise((r) => setImmediate(r));
      });
      expect(total).toBe(data.length);
      expect(hash.digest('hex')).toBe(crypto.createHash('sha256').update(data).digest('hex'));
      let calls = 0;
      await expect(
        share.readChunks(`${dir}/chunks.bin`, () => {
          if (++calls === 3) throw new Error('the consumer gave up');
        }),
      ).rejects.toThrow('the consumer gave up');
      expect(calls).toBe(3);
      // The share keeps working after it (the file was closed, nothing left pending).
      expect((await readAll(share, `${dir}/chunks.bin`)).equals(data)).toBe(true);
      await share.remove(`${dir}/chunks.bin`);
    });

    it('writes at offsets (the backup writes its header last) and reads from an offset', async () => {
      const name = `${dir}/offsets.bin`;
      const w = await share.createFile(name);
      const head = crypto.randomBytes(1000);
      const body = crypto.randomBytes(3 * NFS_MAX_IO + 5);
      await w.writeAt(head.length, body);
      await w.writeAt(0, head);
      await w.commit();
      const all = Buffer.concat([head, body]);
      expect(fs.readFileSync(path.join(server.exportDir, name)).equals(all)).toBe(true);
      const parts: Buffer[] = [];
      for await (const c of await share.readFile(name, { start: 777 })) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(all.subarray(777))).toBe(true);
    });

    it('renames without replacing, and removes files and empty folders', async () => {
      await writeAll(share, `${dir}/a.txt`, Buffer.from('A'));
      await writeAll(share, `${dir}/b.txt`, Buffer.from('B'));
      await share.rename(`${dir}/a.txt`, `${dir}/sub/c.txt`);
      expect(fs.readFileSync(path.join(server.exportDir, dir, 'sub', 'c.txt'), 'utf8')).toBe('A');
      expect(fs.existsSync(path.join(server.exportDir, dir, 'a.txt'))).toBe(false);
      await expectNfsError(share.rename(`${dir}/b.txt`, `${dir}/sub/c.txt`), /EEXIST/, /rename "v\w+\/b.txt" to .*exists/);
      expect(fs.readFileSync(path.join(server.exportDir, dir, 'sub', 'c.txt'), 'utf8')).toBe('A');
      expect(fs.readFileSync(path.join(server.exportDir, dir, 'b.txt'), 'utf8')).toBe('B');
      await expectNfsError(share.remove(`${dir}/sub`), /NFS4ERR_NOTEMPTY/, /remove "v\w+\/sub" failed: the folder is not empty/);
      await share.remove(`${dir}/sub/c.txt`);
      // A folder (no hard links to folders) is renamed too, and never onto an existing name.
      const ino = fs.statSync(path.join(server.exportDir, dir, 'sub')).ino;
      await share.mkdir(`${dir}/other`);
      await expectNfsError(share.rename(`${dir}/sub`, `${dir}/other`), /EEXIST/, /exists/);
      await share.remove(`${dir}/other`);
      await share.rename(`${dir}/sub`, `${dir}/other`);
      expect(fs.statSync(path.join(server.exportDir, dir, 'other')).ino).toBe(ino);
      await share.rename(`${dir}/other`, `${dir}/sub`);
      await share.remove(`${dir}/sub`);
      expect(fs.existsSync(path.join(server.exportDir, dir, 'sub'))).toBe(false);
      await expectNfsError(share.remove(`${dir}/sub`), /NFS4ERR_NOENT/, /no such file or folder/);
    });

    it('refuses to create a file that exists, and a folder that exists, leaving them as they were', async () => {
      await writeAll(share, `${dir}/taken.txt`, Buffer.from('original'));
      await expectNfsError(share.createFile(`${dir}/taken.txt`), /NFS4ERR_EXIST/, /create "v\w+\/taken.txt" failed: a file or folder with that name exists/);
      expect(fs.readFileSync(path.join(server.exportDir, dir, 'taken.txt'), 'utf8')).toBe('original');
      await expectNfsError(share.mkdir(dir), /NFS4ERR_EXIST/, /exists/);
    });

    it('refuses writes where the server denies them: permission denied, read-only export', async () => {
      const sq = await NfsShare.open(server.squashed.url(version), { timeoutMs: 15_000 });
      const ro = await NfsShare.open(server.readonly.url(version), { timeoutMs: 15_000 });
      try {
        await expectNfsError(sq.createFile('denied.txt'), /NFS4ERR_ACCESS|NFS4ERR_PERM/, /create "denied.txt" failed: (permission denied|not permitted)/);
        expect(fs.existsSync(path.join(server.squashed.dir, 'denied.txt'))).toBe(false);
        expect((await readAll(sq, 'hello.txt')).toString()).toBe('squashed export\n');
        await expectNfsError(ro.createFile('denied.txt'), /NFS4ERR_ROFS|NFS4ERR_ACCESS/, /create "denied.txt" failed/);
        await expectNfsError(ro.mkdir('nope'), /NFS4ERR_ROFS|NFS4ERR_ACCESS/, /create the folder "nope" failed/);
      } finally {
        await sq.close();
        await ro.close();
      }
    });

    it('is read by nfs-ls (NFSv3) with the same names and sizes, and reads what nfs-cp wrote byte-identical', async () => {
      const files = { 'peer-small.txt': crypto.randomBytes(10), 'peer-large.bin': crypto.randomBytes(5 * NFS_MAX_IO + 3) };
      for (const [n, d] of Object.entries(files)) await writeAll(share, `${dir}/${n}`, d);
      const listed = nfsLsEntries(nfsLs(server.v3url(dir)));
      const ours = new Map((await share.list(dir)).filter((e) => e.type === 'file').map((e) => [e.name, e.size]));
      for (const [n, d] of Object.entries(files)) expect(listed.get(n)).toBe(d.length);
      expect(new Map([...listed].filter(([n]) => ours.has(n)))).toEqual(ours);
      expect([...listed.keys()].filter((n) => !n.startsWith('.')).sort()).toEqual([...(await share.list(dir)).map((e) => e.name)].sort());

      const local = path.join(os.tmpdir(), `nfs-cp-${crypto.randomUUID()}`);
      const data = crypto.randomBytes(3 * NFS_MAX_IO + 123);
      fs.writeFileSync(local, data);
      try {
        execFileSync('nfs-cp', [local, server.v3url(`${dir}/from-nfs-cp.bin`)], { timeout: 30_000 });
      } finally {
        fs.rmSync(local, { force: true });
      }
      expect((await readAll(share, `${dir}/from-nfs-cp.bin`)).equals(data)).toBe(true);
    });

    it('reports the free space nfs-ls -s reports, within one block', async () => {
      const out = nfsLs(server.v3url(), ['-s']);
      const m = /(\d+) of\s+(\d+) bytes free/.exec(out);
      expect(m).not.toBeNull();
      const s = await share.space();
      const block = fs.statfsSync(server.exportDir).bsize;
      expect(Math.abs(s.freeBytes - Number(m![1]))).toBeLessThanOrEqual(block);
      expect(Math.abs(s.totalBytes - Number(m![2]))).toBeLessThanOrEqual(block);
    });
  });
}

describe('NFS faults, each a clear error naming the share and the operation, within the caller\'s timeout', () => {
  it('refuses a malformed nfs:// address before connecting', async () => {
    await expect(NfsShare.open('http://127.0.0.1/export')).rejects.toThrow(/nfs:\/\/server\/path/);
    await expect(NfsShare.open('nfs://127.0.0.1/export?version=3')).rejects.toThrow(/version must be 4, 4.1 or 4.2/);
    await expect(NfsShare.open('nfs://127.0.0.1/../etc')).rejects.toThrow(/"\.\."/);
  });

  it('a closed port: connection refused', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expectNfsError(NfsShare.open(`nfs://127.0.0.1:${port}/export`, { timeoutMs: 3000 }), /ECONNREFUSED/, /connect failed: the connection was refused/);
  });

  it('an unknown host name, a host that cannot be reached, and a server that accepts but never replies', async () => {
    await expectNfsError(NfsShare.open('nfs://no-such-host.invalid/export', { timeoutMs: 3000 }), /ENOTFOUND|EAI_AGAIN/, /connect failed/);
    const t0 = Date.now();
    // 192.0.2.1 (TEST-NET-1) is routed nowhere: a timeout on a real network; this sandbox has no route and refuses at once.
    const e = (await NfsShare.open('nfs://192.0.2.1/export', { timeoutMs: 700 }).catch((err: unknown) => err)) as NfsError;
    expect(e).toBeInstanceOf(NfsError);
    expect(e.code).toMatch(/ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ECONNREFUSED/);
    expect(e.message).toMatch(/nfs:\/\/192.0.2.1\/export \(NFS 4.1\): connect failed/);
    expect(Date.now() - t0).toBeLessThan(5000);

    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const t1 = Date.now();
      await expectNfsError(NfsShare.open(`nfs://127.0.0.1:${port}/export`, { timeoutMs: 500 }), /ETIMEDOUT/, /no answer within 500 ms/);
      expect(Date.now() - t1).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('an export that does not exist', async () => {
    for (const v of VERSIONS) {
      await expectNfsError(NfsShare.open(server.url(v).replace('/export', '/no-such-export'), { timeoutMs: 5000 }), /NFS4ERR_NOENT/, /open the share failed: the server has no such export or path/);
    }
  });
});

describe('NFS faults that need a server of their own', () => {
  it('no space left: a write larger than the export fails in words, and abort removes the file', async () => {
    const small = await startNfsServer({ sizeMiB: 16 });
    try {
      for (const v of VERSIONS) {
        const share = await NfsShare.open(small.url(v), { timeoutMs: 15_000 });
        try {
          const w = await share.createFile(`big-${v}.bin`);
          const data = crypto.randomBytes(32 << 20);
          const err = (await (async () => {
            for (let i = 0; i < data.length; i += NFS_MAX_IO) await w.append(data.subarray(i, i + NFS_MAX_IO));
            await w.commit();
          })().catch((e: unknown) => e)) as NfsError;
          expect(err).toBeInstanceOf(NfsError);
          expect(err.code).toMatch(/NFS4ERR_NOSPC|NFS4ERR_DQUOT/);
          expect(err.message).toMatch(new RegExp(`write "big-${v}.bin" failed: no space left on the share`));
          await w.abort();
          expect(fs.existsSync(path.join(small.exportDir, `big-${v}.bin`))).toBe(false);
          // Later calls of the same writer keep failing with the same error.
          await expect(w.commit()).rejects.toBeInstanceOf(NfsError);
        } finally {
          await share.close();
        }
      }
    } finally {
      await small.stop();
    }
  });

  it('the server dies in the middle of a write: the write fails in words, then works again after a restart', async () => {
    const own = await startNfsServer();
    try {
      for (const v of VERSIONS) {
        const share = await NfsShare.open(own.url(v), { timeoutMs: 5000 });
        const w = await share.createFile(`dying-${v}.bin`);
        const chunk = crypto.randomBytes(NFS_MAX_IO);
        let sent = 0;
        const t0 = Date.now();
        const err = (await (async () => {
          for (let i = 0; i < 512; i++) {
            await w.append(chunk);
            sent++;
            if (sent === 20) void own.kill('SIGKILL');
          }
          await w.commit();
        })().catch((e: unknown) => e)) as NfsError;
        expect(err).toBeInstanceOf(NfsError);
        expect(err.code).toMatch(/ECONNRESET|ETIMEDOUT|EPIPE/);
        expect(err.message).toMatch(new RegExp(`write "dying-${v}.bin" failed`));
        expect(Date.now() - t0).toBeLessThan(15_000);
        await share.close();
        await own.restart();
        // A new share on the restarted server works; the partial file is there to be removed.
        const again = await NfsShare.open(own.url(v), { timeoutMs: 5000 });
        await again.remove(`dying-${v}.bin`).catch(() => undefined);
        await writeAll(again, `after-restart-${v}.txt`, Buffer.from('ok'));
        expect(fs.readFileSync(path.join(own.exportDir, `after-restart-${v}.txt`), 'utf8')).toBe('ok');
        await again.close();
      }
    } finally {
      await own.stop();
    }
  });
});
