import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalUser } from '@/lib/accounts/accounts';
import { setDms } from '@/lib/backup/dms';
import { startBackup } from '@/lib/backup/engine';
import { saveBackupSettings } from '@/lib/backup/settings';
import { db } from '@/lib/db/client';
import { exclusiveOperationRefusal } from '@/lib/db/errors';
import { backupRuns, domainMasterSecret, restoreRuns, users } from '@/lib/db/schema';
import { saveStorageConfig } from '@/lib/storage/config';

/**
 * The database, not the code, keeps a restore alone (drizzle/0004): while a
 * restore row is running no backup starts, no second restore, no setting,
 * account or DMS changes; while a backup runs no restore starts.
 */
const actor = { id: 1, name: 'admin', ip: null };
let storageDir: string;

const holdRestore = () =>
  db().insert(restoreRuns).values({ status: 'running', phase: 'verifying', source: 'file', sourceLabel: 'x', fileName: 'x.tar.age', requestedBy: 'someone', startedAt: new Date() }).returning().get();

beforeAll(async () => {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-exclusive-'));
  await saveStorageConfig(actor, { type: 'local', path: storageDir });
  await createLocalUser(actor, { username: 'admin', displayName: '', role: 'admin', password: 'a long enough password', confirmPassword: '' });
});
afterAll(() => fs.rmSync(storageDir, { recursive: true, force: true }));

describe('one exclusive operation at a time', () => {
  it('while a restore runs: no backup, no second restore, no settings, accounts or DMS change', async () => {
    const row = holdRestore();
    try {
      await expect(setDms(actor, 'a domain master secret')).rejects.toThrow(/A restore is in progress/);
      expect(db().select().from(domainMasterSecret).all()).toEqual([]);
      expect(db().select().from(users).all()).toHaveLength(1);
      expect(() => saveBackupSettings(actor, { filenamePrefix: 'changed' })).toThrow(/a restore is in progress/);
      await expect(createLocalUser(actor, { username: 'other', displayName: '', role: 'support', password: 'a long enough password', confirmPassword: '' })).rejects.toThrow(/a restore is in progress/);
      expect(() => db().update(users).set({ role: 'support' }).where(eq(users.username, 'admin')).run()).toThrow(/a restore is in progress/);
      expect(() => db().delete(users).run()).toThrow(/a restore is in progress/);
      expect(() => holdRestore()).toThrow(/UNIQUE/);
      // Signing in stays possible: only the last sign-in time changes.
      db().update(users).set({ lastLoginAt: new Date() }).where(eq(users.username, 'admin')).run();
      // A backup is refused by the database even where no check in code came first.
      expect(() => db().insert(backupRuns).values({ trigger: 'manual', requestedBy: 'x', status: 'running', phase: 'preparing', startedAt: new Date() }).run()).toThrow(/a restore is in progress/);
    } finally {
      db().update(restoreRuns).set({ status: 'failed' }).where(eq(restoreRuns.id, row.id)).run();
    }
    saveBackupSettings(actor, { filenamePrefix: 'changed' });
  });

  it('startBackup says so in words while a restore runs', async () => {
    await setDms(actor, 'a domain master secret');
    const row = holdRestore();
    try {
      await expect(startBackup('manual', actor)).rejects.toThrow('A restore is in progress. No backup can start until it has finished.');
    } finally {
      db().update(restoreRuns).set({ status: 'failed' }).where(eq(restoreRuns.id, row.id)).run();
    }
  });

  it('while a backup runs, no restore starts', () => {
    const run = db().insert(backupRuns).values({ trigger: 'manual', requestedBy: 'x', status: 'running', phase: 'writing', startedAt: new Date() }).returning().get();
    try {
      let caught: unknown;
      try {
        holdRestore();
      } catch (err) {
        caught = err;
      }
      expect(exclusiveOperationRefusal(caught)).toBe('backup');
    } finally {
      db().update(backupRuns).set({ status: 'failed' }).where(eq(backupRuns.id, run.id)).run();
    }
  });
});
