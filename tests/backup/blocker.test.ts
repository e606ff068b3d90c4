import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { setDms } from '@/lib/backup/dms';
import { backupBlocker } from '@/lib/backup/engine';
import { saveStorageConfig } from '@/lib/storage/config';

const actor = { id: 1, name: 'admin', ip: '127.0.0.1' };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The status panel polls; the storage check behind it is kept 15 s per setting, and a backup start always checks afresh. */
describe('backupBlocker', () => {
  it('keeps a storage check for 15 s, checks afresh when asked, when the setting changes, and after 15 s', async () => {
    await setDms(actor, 'blocker test secret');
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-blocker-a-'));
    const b = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-blocker-b-'));
    dirs.push(a, b);
    await saveStorageConfig(actor, { type: 'local', path: a });
    expect(await backupBlocker()).toBeNull();
    // The folder goes away: the kept answer stands until it is asked afresh.
    fs.rmSync(a, { recursive: true });
    expect(await backupBlocker()).toBeNull();
    expect(await backupBlocker({ fresh: true })).toMatch(/cannot write/);
    fs.mkdirSync(a);
    expect(await backupBlocker()).toMatch(/cannot write/);
    // Another setting is checked at once.
    await saveStorageConfig(actor, { type: 'local', path: b });
    expect(await backupBlocker()).toBeNull();
    // And after 15 s the check runs again.
    fs.rmSync(b, { recursive: true });
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + 16_000);
    try {
      expect(await backupBlocker()).toMatch(/cannot write/);
    } finally {
      clock.mockRestore();
    }
  });
});
