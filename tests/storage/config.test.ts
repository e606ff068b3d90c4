import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDir } from '@/lib/env';
import { getStorageConfig, saveStorageConfig } from '@/lib/storage/config';
import { storageFormSchema } from '@/lib/storage/schemas';

const actor = { id: 1, name: 'admin', ip: null };
// An appliance configuration outside the data folder, as on a real appliance (read by env() on first use).
const APPLIANCE_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-appliance-'));
process.env.WEBCONF_APPLIANCE_ROOT = APPLIANCE_ROOT;
const made: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-storage-'));
  made.push(d);
  return d;
};
afterAll(() => [...made, APPLIANCE_ROOT].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('local folder storage settings', () => {
  it('accepts a writable folder and stores it resolved', async () => {
    const d = tmp();
    await saveStorageConfig(actor, { type: 'local', path: d });
    expect(getStorageConfig()).toEqual({ type: 'local', path: fs.realpathSync(d) });
    const link = path.join(tmp(), 'to-d');
    fs.symlinkSync(d, link);
    await saveStorageConfig(actor, { type: 'local', path: link });
    expect(getStorageConfig()).toEqual({ type: 'local', path: fs.realpathSync(d) });
  });

  it.each([
    ['/', /outside the console data folder/],
    ['the data folder', /outside the console data folder/],
    ['a folder inside the data folder', /outside the console data folder/],
    ['a symbolic link to the data folder', /outside the console data folder/],
    ['a folder inside the appliance configuration', /outside the appliance configuration/],
    ['a missing folder', /does not exist/],
    ['a file', /is not a folder/],
  ])('refuses %s, in words, and keeps the previous setting', async (what, words) => {
    const before = getStorageConfig();
    fs.mkdirSync(dataDir(), { recursive: true });
    const inside = path.join(dataDir(), 'backups');
    fs.mkdirSync(inside, { recursive: true });
    const link = path.join(tmp(), 'link');
    fs.symlinkSync(dataDir(), link);
    const config = path.join(APPLIANCE_ROOT, 'system', 'backups');
    fs.mkdirSync(config, { recursive: true });
    const file = path.join(tmp(), 'file');
    fs.writeFileSync(file, 'x');
    const p = { '/': '/', 'the data folder': dataDir(), 'a folder inside the data folder': inside, 'a symbolic link to the data folder': link, 'a missing folder': '/no/such/folder', 'a folder inside the appliance configuration': config, 'a file': file }[what]!;
    await expect(saveStorageConfig(actor, { type: 'local', path: p })).rejects.toThrow(words);
    expect(getStorageConfig()).toEqual(before);
  });

  it('parses the form: relative paths and empty input are refused with a message', () => {
    const rel = storageFormSchema.safeParse({ type: 'local', path: 'backups' });
    expect(rel.success).toBe(false);
    expect(rel.error!.issues[0]!.message).toMatch(/absolute path/);
    const empty = storageFormSchema.safeParse({ type: 'local', path: '' });
    expect(empty.error!.issues[0]!.message).toMatch(/Enter the folder path/);
    expect(storageFormSchema.safeParse({ type: 'nfs' }).success).toBe(false);
    expect(storageFormSchema.safeParse({ type: 'usb' }).success).toBe(false);
  });

  it('parses NFS URLs before anything connects: one spelling kept, bad ones refused with the reason on the url field', () => {
    expect(storageFormSchema.parse({ type: 'nfs', url: ' nfs://10.0.0.5/backups ' })).toEqual({ type: 'nfs', url: 'nfs://10.0.0.5/backups?version=4.1' });
    expect(storageFormSchema.parse({ type: 'nfs', url: 'nfs://nas.example:2050/exports/appliance?version=4' })).toEqual({
      type: 'nfs',
      url: 'nfs://nas.example:2050/exports/appliance?version=4.0',
    });
    for (const [url, words] of [
      ['', /Enter the NFS URL/],
      ['nfs://', /server name or address/],
      ['smb://nas/backups', /nfs:\/\/server\/path/],
      ['nfs://nas/backups?version=3', /4, 4.1 or 4.2/],
      ['nfs://nas/../etc', /"\.\."/],
      [`nfs://nas/${'x'.repeat(1100)}`, /at most 1024 characters/],
    ] as const) {
      const r = storageFormSchema.safeParse({ type: 'nfs', url });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.message).toMatch(words);
      expect(r.error!.issues[0]!.path).toEqual(['url']);
    }
  });
});
