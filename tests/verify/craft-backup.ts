import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import { decryptWithPassphrase, encryptWithPassphrase } from '@/lib/age';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ManifestSigner, type ManifestMember } from '@/lib/backup/manifest';

/**
 * Backup files made with the format's own libraries (tar-stream, the age
 * writer, the manifest signer) for what the engine never writes: a backup
 * of a database that is itself damaged, its every hash right. And the
 * plaintext of a real backup re-encrypted (another DMS, a changed manifest).
 */

export type CraftMember = { path: string; kind: ManifestMember['kind']; data: Buffer };

async function encrypt(plain: Buffer, passphrase: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  // A low work factor: readers accept up to 2^18, and the tests stay quick.
  const enc = await encryptWithPassphrase(passphrase, { logN: 10 });
  enc.on('data', (c: Buffer) => parts.push(c));
  await pipeline(Readable.from([plain]), enc);
  return Buffer.concat(parts);
}

async function tarOf(entries: { name: string; data: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c) => parts.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) pack.entry({ name: e.name, size: e.data.length, mode: 0o600, mtime: new Date() }, e.data);
  pack.finalize();
  await ended;
  return Buffer.concat(parts);
}

/** A signed, encrypted backup of these members, under `dms`, as the engine lays it out (manifest first). */
export async function craftBackup(dms: string, members: CraftMember[], opts: { integrityCheck?: string } = {}): Promise<Buffer> {
  const manifest = await new ManifestSigner(dms).sign({
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    appliance: { id: crypto.randomUUID(), name: 'crafted', firmwareVersion: '1.0.0' },
    createdAt: new Date().toISOString(),
    contents: { firmwareConfiguration: true, systemConfiguration: true, internalDatabase: members.some((m) => m.kind === 'database'), excluded: [] },
    database: { engine: 'SQLite', integrityCheck: opts.integrityCheck ?? 'ok', path: 'database/webconf.db' },
    members: members.map((m) => ({ path: m.path, kind: m.kind, size: m.data.length, sha256: crypto.createHash('sha256').update(m.data).digest('hex') })),
  });
  const plain = await tarOf([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...members.map((m) => ({ name: m.path, data: m.data }))]);
  return encrypt(plain, dms);
}

/**
 * A real SQLite database whose index no longer matches its table: every
 * key in the index's page is altered, so PRAGMA integrity_check reports
 * rows missing from the index (while the file opens and reads).
 */
export function damagedDatabase(file: string): Buffer {
  fs.rmSync(file, { force: true });
  const db = new Database(file);
  db.exec('create table t(id integer primary key, v text); create index t_v on t(v);');
  const ins = db.prepare('insert into t(v) values (?)');
  db.transaction(() => {
    for (let i = 0; i < 50; i++) ins.run(`value-${i}`);
  })();
  const root = db.prepare("select rootpage from sqlite_master where name = 't_v'").pluck().get() as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const bytes = fs.readFileSync(file);
  const page = bytes.subarray((root - 1) * pageSize, root * pageSize);
  for (let i = page.indexOf('value-'); i >= 0; i = page.indexOf('value-', i + 1)) page[i] = 0x7a;
  fs.rmSync(file, { force: true });
  return bytes;
}

/** A real backup's archive (its plaintext), decrypted with the DMS. */
export async function plaintextOf(file: Buffer, dms: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await decryptWithPassphrase(Readable.from([file]), dms)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The archive encrypted again under `passphrase` (another DMS, or the DMS after the archive was changed). */
export const reencrypt = encrypt;
