import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NFS_MAX_IO, portOpen, startNfsServer, type NfsServer } from '../helpers/nfs-server';

/**
 * The NFS test server harness itself (tests/helpers/nfs-server.ts), checked
 * with libnfs' command-line tools (NFSv3) and a few raw NFSv4 COMPOUNDs: no
 * TypeScript NFS client is involved. One server runs at a time.
 */

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-harness-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function randomFile(name: string, bytes: number): string {
  const f = path.join(work, name);
  const fd = fs.openSync(f, 'w');
  for (let done = 0; done < bytes; done += NFS_MAX_IO) fs.writeSync(fd, crypto.randomBytes(Math.min(NFS_MAX_IO, bytes - done)));
  fs.closeSync(fd);
  return f;
}

function run(cmd: string, ...args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, out: r.stdout + r.stderr };
}

/** True while some mount is on dir (from the kernel's table, not from stat). */
function mountedAt(dir: string): boolean {
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One ONC RPC call (RFC 5531) over TCP: record marking (4-byte big-endian
 * header, top bit = last fragment), AUTH_SYS as root, NULL verifier. Returns
 * the accepted reply's results, or throws.
 */
async function rpcCall(port: number, prog: number, vers: number, proc: number, args: Buffer): Promise<Xdr> {
  const xid = crypto.randomBytes(4).readUInt32BE(0);
  const cred = new XdrOut().u32(0).string('nfs-harness-test').u32(0).u32(0).u32(0).buf();
  const msg = new XdrOut().u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc).u32(1).opaque(cred).u32(0).u32(0).buf();
  const body = Buffer.concat([msg, args]);
  const mark = Buffer.alloc(4);
  mark.writeUInt32BE((0x80000000 | body.length) >>> 0);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const frags: Buffer[] = [];
    s.setTimeout(10_000, () => s.destroy(new Error('RPC timeout')));
    s.on('error', reject);
    s.on('connect', () => s.write(Buffer.concat([mark, body])));
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 4) {
        const h = got.readUInt32BE(0);
        const len = h & 0x7fffffff;
        if (got.length < 4 + len) return;
        frags.push(got.subarray(4, 4 + len));
        got = got.subarray(4 + len);
        if (h & 0x80000000) {
          s.end();
          resolve(Buffer.concat(frags));
          return;
        }
      }
    });
  });
  const x = new Xdr(reply);
  expect(x.u32()).toBe(xid);
  expect(x.u32()).toBe(1); // REPLY
  expect(x.u32()).toBe(0); // MSG_ACCEPTED
  x.u32(); // verifier flavor
  x.opaque();
  const acceptStat = x.u32();
  if (acceptStat !== 0) throw new Error(`RPC not accepted: accept_stat ${acceptStat}`);
  return x;
}

class XdrOut {
  private parts: Buffer[] = [];
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  opaque(data: Buffer) {
    this.u32(data.length);
    this.parts.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
    return this;
  }
  string(s: string) {
    return this.opaque(Buffer.from(s));
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  /** Fixed-length opaque: no length word (its length must be a multiple of 4 here). */
  fixed(data: Buffer) {
    this.parts.push(data);
    return this;
  }
  buf() {
    return Buffer.concat(this.parts);
  }
}

class Xdr {
  private off = 0;
  constructor(private b: Buffer) {}
  u32() {
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u64() {
    const v = this.b.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }
  opaque() {
    const n = this.u32();
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n + ((4 - (n % 4)) % 4);
    return v;
  }
}

const NFS4_PROGRAM = 100003;
const NFS4ERR_MINOR_VERS_MISMATCH = 10021;
const OP_GETATTR = 9;
const OP_LOOKUP = 15;
const OP_PUTROOTFH = 24;
const OP_READ = 25;
const OP_WRITE = 38;
const FILE_SYNC4 = 2;
/** The anonymous stateid (seqid 0, other all zeros): NFSv4.0 lets READ and WRITE use it without an OPEN. */
const ANONYMOUS_STATEID = Buffer.alloc(16);

type Op = (o: XdrOut) => XdrOut;
const putrootfh: Op = (o) => o.u32(OP_PUTROOTFH);
const lookup = (name: string): Op => (o) => o.u32(OP_LOOKUP).string(name);
/** PUTROOTFH, then one LOOKUP per component of a pseudo-filesystem path. */
const walk = (p: string): Op[] => [putrootfh, ...p.split('/').filter(Boolean).map(lookup)];

/**
 * COMPOUND (procedure 1): tag, minorversion, the operations. Returns the
 * COMPOUND status and a reader past the results of all operations but the
 * last (each of those must be NFS4_OK and carry no result body, true of
 * PUTROOTFH and LOOKUP), positioned at the last operation's result body.
 */
async function compound(port: number, minor: number, ops: Op[]) {
  const args = new XdrOut().string('').u32(minor).u32(ops.length);
  for (const op of ops) op(args);
  const x = await rpcCall(port, NFS4_PROGRAM, 4, 1, args.buf());
  const status = x.u32();
  x.opaque(); // tag
  const results = x.u32();
  if (status === 0) {
    expect(results).toBe(ops.length);
    for (let i = 0; i < results; i++) {
      x.u32(); // operation number
      expect(x.u32()).toBe(0);
      if (i === results - 1) break;
    }
  }
  return { status, x };
}

/** maxread (attribute 30) and maxwrite (31) of a pseudo path, over NFSv4.0. */
async function maxReadWrite(port: number, pseudo: string) {
  const { status, x } = await compound(port, 0, [...walk(pseudo), (o) => o.u32(OP_GETATTR).u32(1).u32((1 << 30) | (1 << 31))]);
  expect(status).toBe(0);
  const words = x.u32();
  for (let i = 0; i < words; i++) x.u32();
  const attrs = new Xdr(x.opaque());
  return { maxRead: Number(attrs.u64()), maxWrite: Number(attrs.u64()) };
}

/** One NFSv4.0 WRITE (FILE_SYNC) at offset 0 in one RPC; returns the count written. */
async function v4Write(port: number, file: string, data: Buffer): Promise<number> {
  const { status, x } = await compound(port, 0, [...walk(file), (o) => o.u32(OP_WRITE).fixed(ANONYMOUS_STATEID).u64(0).u32(FILE_SYNC4).opaque(data)]);
  expect(status).toBe(0);
  return x.u32();
}

/** One NFSv4.0 READ at offset 0 in one RPC. */
async function v4Read(port: number, file: string, count: number): Promise<{ eof: boolean; data: Buffer }> {
  const { status, x } = await compound(port, 0, [...walk(file), (o) => o.u32(OP_READ).fixed(ANONYMOUS_STATEID).u64(0).u32(count)]);
  expect(status).toBe(0);
  const eof = x.u32() === 1;
  return { eof, data: Buffer.from(x.opaque()) };
}

describe('NFS server harness', () => {
  let server: NfsServer;
  beforeAll(async () => {
    server = await startNfsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('gives loopback URLs for NFSv4 and for libnfs NFSv3', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.pseudo).toBe('/export');
    expect(server.url('4.1', 'a/b.txt')).toBe(`nfs://127.0.0.1:${server.port}/export/a/b.txt?version=4.1`);
    expect(server.url('4')).toBe(`nfs://127.0.0.1:${server.port}/export?version=4`);
    expect(server.v3url('/x.bin')).toBe(`nfs://127.0.0.1/export/x.bin?nfsport=${server.port}&mountport=${server.mountPort}`);
    expect(server.readonly.url('4.2', 'hello.txt')).toBe(`nfs://127.0.0.1:${server.port}/readonly/hello.txt?version=4.2`);
    expect(new URL(server.url('4.2')).port).toBe(String(server.port));
    expect(server.log()).toContain('NFS SERVER INITIALIZED');
    expect(server.log()).toContain('Graceless is true');
  });

  it('takes a 1 MB file over NFSv3 byte for byte, lists it with its size and reports free space', () => {
    const local = randomFile('one-mb.bin', 1_000_000);
    const cp = run('nfs-cp', local, server.v3url('one-mb.bin'));
    expect(cp.status, cp.out).toBe(0);
    expect(fs.readFileSync(path.join(server.exportDir, 'one-mb.bin')).equals(fs.readFileSync(local))).toBe(true);

    const ls = run('nfs-ls', server.v3url());
    expect(ls.status, ls.out).toBe(0);
    expect(ls.out).toMatch(/\s1000000 one-mb\.bin$/m);

    const df = run('nfs-ls', '-s', server.v3url());
    expect(df.status, df.out).toBe(0);
    // nfs-ls -s prints "<free> of <total> bytes free.", numbers padded with spaces.
    const [, free, total] = /(\d+) of\s+(\d+) bytes free/.exec(df.out) ?? [];
    expect(Number(free)).toBeGreaterThan(0);
    expect(Number(total)).toBeGreaterThanOrEqual(Number(free));
  });

  it('serves NFSv4.0, 4.1 and 4.2 (not 4.3) on the NFS port, with 1 MiB max read and write', async () => {
    for (const minor of [0, 1, 2]) expect((await compound(server.port, minor, [])).status).toBe(0);
    expect((await compound(server.port, 3, [])).status).toBe(NFS4ERR_MINOR_VERS_MISMATCH);
    for (const e of server.exports) expect(await maxReadWrite(server.port, e.pseudo)).toEqual({ maxRead: NFS_MAX_IO, maxWrite: NFS_MAX_IO });
  });

  it('takes a 1 MiB NFSv4 WRITE and answers a 1 MiB READ, each in one RPC; cuts bigger ones to 1 MiB', async () => {
    fs.writeFileSync(path.join(server.exportDir, 'v4.bin'), '');
    const data = crypto.randomBytes(NFS_MAX_IO);
    expect(await v4Write(server.port, '/export/v4.bin', data)).toBe(NFS_MAX_IO);
    expect(fs.readFileSync(path.join(server.exportDir, 'v4.bin')).equals(data)).toBe(true);
    const all = await v4Read(server.port, '/export/v4.bin', NFS_MAX_IO);
    expect(all.data.equals(data)).toBe(true);
    // Bigger requests are not refused but cut to 1 MiB: a short WRITE and a short READ (not at EOF).
    const big = crypto.randomBytes(4 * NFS_MAX_IO);
    expect(await v4Write(server.port, '/export/v4.bin', big)).toBe(NFS_MAX_IO);
    expect(fs.readFileSync(path.join(server.exportDir, 'v4.bin')).equals(big.subarray(0, NFS_MAX_IO))).toBe(true);
    fs.writeFileSync(path.join(server.exportDir, 'v4.bin'), big);
    const part = await v4Read(server.port, '/export/v4.bin', 4 * NFS_MAX_IO);
    expect(part.data.equals(big.subarray(0, NFS_MAX_IO))).toBe(true);
    expect(part.eof).toBe(false);
  });

  it('refuses writes on the read-only export (ROFS) and, as the squashed user, on the squashed one (ACCES); both read', () => {
    const local = randomFile('small.bin', 4096);
    const ro = run('nfs-cp', local, server.readonly.v3url('small.bin'));
    expect(ro.status).not.toBe(0);
    expect(ro.out).toContain('NFS3ERR_ROFS');
    const sq = run('nfs-cp', local, server.squashed.v3url('small.bin'));
    expect(sq.status).not.toBe(0);
    expect(sq.out).toContain('NFS3ERR_ACCES');
    expect(fs.existsSync(path.join(server.readonly.dir, 'small.bin'))).toBe(false);
    expect(fs.existsSync(path.join(server.squashed.dir, 'small.bin'))).toBe(false);

    for (const e of [server.readonly, server.squashed]) {
      const ls = run('nfs-ls', e.v3url());
      expect(ls.status, ls.out).toBe(0);
      expect(ls.out).toMatch(/ hello\.txt$/m);
    }
  });

  it('after kill() stops answering; restart() serves the same data on the same ports', async () => {
    const firstPid = server.pid()!;
    await server.kill();
    expect(processAlive(firstPid)).toBe(false);
    expect(await portOpen(server.port)).toBe(false);
    expect(run('nfs-ls', server.v3url()).status).not.toBe(0);

    await server.restart();
    expect(server.pid()).not.toBe(firstPid);
    const ls = run('nfs-ls', server.v3url());
    expect(ls.status, ls.out).toBe(0);
    expect(ls.out).toMatch(/\s1000000 one-mb\.bin$/m);
    // Graceless: NFSv4 works at once.
    expect((await compound(server.port, 1, [])).status).toBe(0);
    expect(server.log().split('NFS SERVER INITIALIZED').length - 1).toBe(2);
  });

  it('restart() of a running server stops it gracefully first', async () => {
    const before = server.pid();
    await server.restart();
    expect(server.pid()).not.toBe(before);
    expect(run('nfs-ls', server.v3url()).status).toBe(0);
  });
});

describe('NFS server harness on a small disk', () => {
  let server: NfsServer;
  beforeAll(async () => {
    server = await startNfsServer({ sizeMiB: 16 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('exports a 16 MiB tmpfs', () => {
    expect(mountedAt(server.exportDir)).toBe(true);
    const df = run('nfs-ls', '-s', server.v3url());
    expect(df.status, df.out).toBe(0);
    expect(/(\d+) of\s+(\d+) bytes free/.exec(df.out)?.slice(1).map(Number)).toEqual([16 * 1024 * 1024, 16 * 1024 * 1024]);
  });

  it('fails to take a 32 MB file (no space left)', () => {
    const cp = run('nfs-cp', randomFile('thirty-two-mb.bin', 32_000_000), server.v3url('big.bin'));
    // nfs-cp says only "Failed to write to dest file" (exit 10), not which NFS error it got.
    expect(cp.status).not.toBe(0);
    expect(cp.out).toContain('Failed to write');
    expect(fs.statSync(path.join(server.exportDir, 'big.bin')).size).toBeLessThanOrEqual(16 * 1024 * 1024);
    const df = run('nfs-ls', '-s', server.v3url());
    expect(/(\d+) of\s+\d+ bytes free/.exec(df.out)?.[1]).toBe('0');
  });

  it('stop() leaves no mount, no process, no open port and no temp folder; stop() again is harmless', async () => {
    const pid = server.pid()!;
    await server.stop();
    expect(mountedAt(server.exportDir)).toBe(false);
    expect(processAlive(pid)).toBe(false);
    expect(await portOpen(server.port)).toBe(false);
    expect(await portOpen(server.mountPort)).toBe(false);
    expect(fs.existsSync(server.stateDir)).toBe(false);
    await server.stop();
  });

  it('restart() after stop() sets everything up again, empty', async () => {
    await server.restart();
    expect(mountedAt(server.exportDir)).toBe(true);
    expect(fs.readdirSync(server.exportDir)).toEqual([]);
    const ls = run('nfs-ls', server.v3url());
    expect(ls.status, ls.out).toBe(0);
    await server.stop();
    expect(mountedAt(server.exportDir)).toBe(false);
  });
});

describe('NFS server harness start failures', () => {
  it('fails with the tail of ganesha\'s log when an export cannot be created, leaving nothing behind', async () => {
    // /proc/sys is not a filesystem ganesha's VFS backend can export: it logs CONFIG errors and starts without it.
    const err = await startNfsServer({ exports: [{ pseudo: '/proc', access: 'RO', dir: '/proc/sys' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/started with configuration errors[\s\S]*Could not create export for \(\/proc\)/);
    // The message names the log in the server's temp folder, which is gone.
    const stateDir = path.dirname(/--- (\S+\/ganesha\.log) /.exec(String(err))?.[1] ?? '/nonexistent/x');
    expect(stateDir).toContain('nfs-ganesha-');
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});

describe('NFS server harness with a given folder and an extra export', () => {
  it('exports the given folder and the extra one, and leaves both on disk after stop()', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'given-'));
    const extraDir = fs.mkdtempSync(path.join(work, 'extra-'));
    fs.writeFileSync(path.join(dir, 'before.txt'), 'was here\n');
    const server = await startNfsServer({ exportDir: dir, exports: [{ pseudo: '/archive', access: 'RO', dir: extraDir }] });
    try {
      expect(server.exportDir).toBe(dir);
      expect(server.exports.map((e) => e.pseudo)).toEqual(['/export', '/readonly', '/squashed', '/archive']);
      expect(run('nfs-ls', server.v3url()).out).toMatch(/ before\.txt$/m);
      const cp = run('nfs-cp', randomFile('x.bin', 10), server.exports[3]!.v3url('x.bin'));
      expect(cp.out).toContain('NFS3ERR_ROFS');
    } finally {
      await server.stop();
    }
    expect(fs.readdirSync(dir)).toEqual(['before.txt']);
    expect(fs.existsSync(extraDir)).toBe(true);
  });
});
