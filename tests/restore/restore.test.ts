import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applianceIdentity, applianceRoot } from '@/lib/backup/appliance';
import { createSession, resolveSession } from '@/lib/auth/sessions';
import { db } from '@/lib/db/client';
import { desc, eq } from 'drizzle-orm';
import { auditEvents, backupRuns, derivedKeys, restoreRuns, users } from '@/lib/db/schema';
import { planRestore, runRestore } from '@/lib/restore/restore';
import { safetyCopies } from '@/lib/restore/safety-copy';
import { restoreRoot } from '@/lib/restore/paths';
import { ACTOR, backUp, configure, dumpState, type StateDump } from '../helpers/appliance-state';

const DMS = 'restore unit test secret';
let storageDir: string;
let atBackup: StateDump;
let backup: { id: number; fileName: string; checksum: string };

beforeAll(async () => {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-target-'));
  fs.mkdirSync(path.join(applianceRoot(), 'hsm'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'hsm', 'slot.key'), 'HSM');
  await configure('a', { storageDir, dms: DMS });
  applianceIdentity();
  atBackup = dumpState();
  backup = await backUp();
});
afterAll(() => fs.rmSync(storageDir, { recursive: true, force: true }));

describe('restore on the appliance that made the backup', () => {
  it('dry-run: shows the manifest, verifies, and plans what changes, changing nothing', async () => {
    await configure('b', { storageDir, dms: DMS });
    await backUp();
    const before = dumpState();
    const plan = await planRestore({ source: { kind: 'storage', fileName: backup.fileName }, actor: ACTOR });
    expect(plan.blockers).toEqual([]);
    expect(plan.dms).toBe('this appliance');
    expect(plan.sameAppliance).toBe(true);
    expect(plan.file.checksum).toBe(backup.checksum);
    expect(plan.backup.appliance.id).toBe(applianceIdentity().id);
    expect(plan.changes.map((c) => c.area)).toEqual(expect.arrayContaining(['accounts', 'sign-in', 'backup settings', 'schedule', 'history']));
    expect(plan.changes.find((c) => c.area === 'accounts')!.now).toMatch(/admin-b/);
    expect(plan.changes.find((c) => c.area === 'accounts')!.after).not.toMatch(/admin-b/);
    expect(plan.warnings.join(' ')).toMatch(/runs recorded after this backup/);
    expect(plan.confirmWith).toBe(applianceIdentity().name);
    const after = dumpState();
    expect(after).toEqual(before);
    // The dry-run's temporary copy of the backup's database is gone, and so is the (empty) restore folder.
    expect(fs.existsSync(restoreRoot())).toBe(false);
  });

  it("takes its own backup's checksum from the history (the file is not hashed again) only when the file is that run's", async () => {
    const file = path.join(storageDir, backup.fileName);
    const actual = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(backup.checksum).toBe(actual);
    const run = () => db().select().from(backupRuns).where(eq(backupRuns.id, backup.id)).get()!;
    const { checksum, manifest } = run();
    const marker = 'e'.repeat(64);
    const plan = () => planRestore({ source: { kind: 'storage', fileName: backup.fileName }, actor: ACTOR });
    try {
      // A marker in the record comes back: the record was used, the file was not hashed.
      db().update(backupRuns).set({ checksum: marker }).where(eq(backupRuns.id, backup.id)).run();
      expect((await plan()).file.checksum).toBe(marker);
      // A record whose manifest names another creation time is not this file's: the file is hashed.
      const other = { ...JSON.parse(manifest!), createdAt: '2020-01-01T00:00:00.000Z' };
      db().update(backupRuns).set({ manifest: JSON.stringify(other) }).where(eq(backupRuns.id, backup.id)).run();
      expect((await plan()).file.checksum).toBe(actual);
    } finally {
      db().update(backupRuns).set({ checksum, manifest }).where(eq(backupRuns.id, backup.id)).run();
    }
    // The same file under a name the history does not know, and as an uploaded file: hashed.
    fs.copyFileSync(file, path.join(storageDir, 'copy.tar.age'));
    try {
      expect((await planRestore({ source: { kind: 'storage', fileName: 'copy.tar.age' }, actor: ACTOR })).file.checksum).toBe(actual);
      const upload = { kind: 'file' as const, path: path.join(storageDir, 'copy.tar.age'), origin: 'upload' as const, label: 'an uploaded file' };
      expect((await planRestore({ source: upload, actor: ACTOR })).file.checksum).toBe(actual);
    } finally {
      fs.rmSync(path.join(storageDir, 'copy.tar.age'));
    }
  });

  it('refuses without the appliance name typed, changing nothing', async () => {
    const before = dumpState();
    await expect(runRestore({ source: { kind: 'storage', fileName: backup.fileName }, actor: ACTOR, confirm: 'wrong' })).rejects.toThrow(/Type the appliance name/);
    expect(dumpState()).toEqual(before);
  });

  it('restores every setting, account, history row and configuration file as at backup time; sessions end', async () => {
    const admin = db().select().from(users).all().find((u) => u.username === 'admin-b')!;
    const session = createSession(admin.id, { ip: null, userAgent: null });
    expect(resolveSession(session).ok).toBe(true);
    const keysBefore = db().select().from(derivedKeys).all();
    // Its own backup: the keys the engine derived for the file are remembered, so the whole restore runs no scrypt.
    const scrypt = vi.spyOn(crypto, 'scrypt');
    const result = await runRestore({ source: { kind: 'storage', fileName: backup.fileName }, actor: ACTOR, confirm: applianceIdentity().name }).finally(() => scrypt.mockRestore());
    expect(result.status).toBe('succeeded');
    expect(scrypt).not.toHaveBeenCalled();
    // The cache is appliance state: it survives the restore (the backup's database copy predates it).
    expect(db().select().from(derivedKeys).all().map((r) => r.id)).toEqual(expect.arrayContaining(keysBefore.map((r) => r.id)));
    const now = dumpState();
    expect(now.users).toEqual(atBackup.users);
    expect(now.settings).toEqual(atBackup.settings);
    expect(now.dms).toEqual(atBackup.dms);
    expect(now.firmware).toEqual(atBackup.firmware);
    expect(now.system).toEqual(atBackup.system);
    // HSM contents are never in a backup and never touched.
    expect(now.hsm).toEqual({ 'slot.key': expect.any(String) });
    // History: the rows as they were, and the run that made this backup, which was running in its own snapshot, succeeded.
    expect(now.history.slice(0, atBackup.history.length)).toEqual(atBackup.history);
    expect(now.history[atBackup.history.length]).toMatchObject({ id: backup.id, status: 'succeeded', fileName: backup.fileName, checksum: backup.checksum });
    expect(now.history).toHaveLength(atBackup.history.length + 1);
    // That run also has the history's summary of its manifest, as any run that wrote a file: it binds the file to the run.
    const summary = JSON.parse(db().select().from(backupRuns).where(eq(backupRuns.id, backup.id)).get()!.manifest!);
    expect(summary).toMatchObject({ appliance: { id: applianceIdentity().id }, signatureVerified: true });
    expect(summary.createdAt).toBe(result.plan.backup.createdAt);
    expect(resolveSession(session).ok).toBe(false);
    const rows = db().select().from(restoreRuns).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'succeeded', fileName: backup.fileName });
    expect(safetyCopies()).toHaveLength(1);
    expect(fs.readdirSync(path.join(restoreRoot(), 'safety', safetyCopies()[0]!)).sort()).toEqual(['firmware', 'system', 'webconf.db']);
  });
});

describe('restore refusals through runRestore (the page and the command share it)', () => {
  it('a wrong DMS and a tampered file are refused in words; no lock row, no work folder, nothing live changed', async () => {
    const before = dumpState();
    const name = applianceIdentity().name;
    await expect(runRestore({ source: { kind: 'storage', fileName: backup.fileName }, actor: ACTOR, confirm: name, dms: 'not it' })).rejects.toThrow(
      /The Domain Master Secret you entered does not open this backup/,
    );
    const tampered = `tampered-${backup.fileName}`;
    const bytes = fs.readFileSync(path.join(storageDir, backup.fileName));
    bytes[bytes.length - 100]! ^= 1;
    fs.writeFileSync(path.join(storageDir, tampered), bytes);
    await expect(runRestore({ source: { kind: 'storage', fileName: tampered }, actor: ACTOR, confirm: name })).rejects.toThrow(/failed verification.*Nothing was changed/);
    expect(dumpState()).toEqual(before);
    expect(db().select().from(restoreRuns).all().filter((r) => r.status === 'running')).toEqual([]);
    expect(fs.readdirSync(restoreRoot()).filter((n) => n.startsWith('work-'))).toEqual([]); // safety/ from the restore above stays
    expect(fs.readdirSync(applianceRoot()).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    const trail = db().select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(2).all();
    expect(trail.map((e) => `${e.action}:${e.outcome}`)).toEqual(['backup.restore:denied', 'backup.restore:denied']);
    expect(JSON.parse(trail[0]!.detail!).reason).toMatch(/failed verification/);
    // The audit trail holds the reason, never the secret that was typed.
    expect(JSON.stringify(trail)).not.toContain('not it');
  });

  it('the restored audit trail records who restored which backup from where', () => {
    const entry = db().select().from(auditEvents).all().find((e) => e.action === 'backup.restore' && e.outcome === 'success')!;
    expect(entry).toMatchObject({ actorName: ACTOR.name, target: expect.stringContaining(backup.fileName) });
    expect(JSON.parse(entry.detail!)).toMatchObject({ file: backup.fileName, dms: 'this appliance' });
  });
});
