import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { sealDmsHere, sealedDmsOpensHere } from '../backup/dms';
import { openDb, type Db } from '../db/client';
import { backupRuns, derivedKeys, domainMasterSecret, restoreRuns, sessions, settings, type DerivedKey, type RestoreRun } from '../db/schema';
import { oidcConfigSchema } from '../oidc/schemas';
import { oidcSecretOpensHere } from '../oidc/config';

/**
 * The backup's database, staged as a file of its own before it replaces the
 * live one. Its schema is compared with this console's migrations (drizzle
 * records each applied migration's folder time in __drizzle_migrations):
 * older is migrated forward when it is opened; newer is refused, because
 * this console cannot know what the newer columns mean.
 */
export type SchemaRelation = { relation: 'same' | 'older' | 'newer'; backup: number; console: number };

function consoleMigrations(): number[] {
  const journal = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'drizzle', 'meta', '_journal.json'), 'utf8')) as { entries: { when: number }[] };
  return journal.entries.map((e) => e.when).sort((a, b) => a - b);
}

export function schemaRelation(file: string): SchemaRelation {
  const known = consoleMigrations();
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasTable = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get();
    const applied = hasTable ? (sqlite.prepare('SELECT created_at AS at FROM __drizzle_migrations').all() as { at: number }[]).map((r) => Number(r.at)) : [];
    const latest = applied.length ? Math.max(...applied) : 0;
    const newer = applied.some((at) => !known.includes(at)) && latest > (known.at(-1) ?? 0);
    const count = applied.filter((at) => known.includes(at)).length;
    return { relation: newer ? 'newer' : count < known.length ? 'older' : 'same', backup: applied.length, console: known.length };
  } finally {
    sqlite.close();
  }
}

/** PRAGMA integrity_check of a database file, read-only: "ok" or the first problems it names. */
export function integrityOf(file: string): string {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = sqlite.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).slice(0, 5).join('; ');
  } finally {
    sqlite.close();
  }
}

/** Opens a staged database (migrating it forward) and closes it checkpointed, so it is one self-contained file. */
export function withStagedDb<T>(file: string, fn: (d: Db) => T): T {
  const d = openDb(file);
  try {
    return fn(d);
  } finally {
    d.$client.pragma('wal_checkpoint(TRUNCATE)');
    d.$client.close();
    for (const side of ['-wal', '-shm']) fs.rmSync(file + side, { force: true });
  }
}

export type Preparation = {
  dms: string;
  /** This appliance's id: a restore keeps the identity of the appliance it runs on. */
  applianceId: string;
  /** `manifest`: the history's summary of the backup's manifest (runManifestSummary), for the run that made it. */
  restored: { fileName: string; sizeBytes: number; checksum: string; location: string | null; manifest: string };
  row: Omit<RestoreRun, 'id'>;
  /** This appliance's derived-key cache (key-cache.ts): appliance state, kept across the restore like its id. */
  derivedKeys: DerivedKey[];
};

export type PreparationResult = { newRowId: number; dmsResealed: boolean; oidcCleared: boolean; runsCompleted: number };

/**
 * Makes the backup's database this appliance's, in one transaction on the
 * staged copy (the live database is not touched):
 *   - every session ends (sessions emptied: the restored accounts apply, nobody stays signed in);
 *   - the run that was making this very backup, 'running' in its own snapshot, is recorded as
 *     succeeded with the file's name, size and checksum;
 *   - the appliance keeps its own id (settings "appliance");
 *   - the DMS is the backup's; where its sealed copy does not open with this appliance's seal key
 *     (made elsewhere, or before a factory reset) it is sealed again here, from the DMS that opened
 *     the file (the write-once triggers are lifted for that one update and put back as they were);
 *   - an OIDC client secret sealed elsewhere cannot be opened here: it is cleared and OIDC sign-in
 *     turned off until an admin enters it again;
 *   - this restore is recorded as running (so the restored database, too, refuses changes until the
 *     post-check passed);
 *   - the derived-key cache stays this appliance's: its rows are carried over (the backup's copy
 *     predates them); the backup's own rows stay when it was made here, and are dropped when its
 *     DMS had to be sealed again (sealed elsewhere, they would not open here).
 */
export function prepareStagedDatabase(file: string, p: Preparation): PreparationResult {
  return withStagedDb(file, (d) => {
    const sqlite = d.$client;
    return sqlite.transaction(() => {
      d.delete(sessions).run();
      const running = d.select().from(backupRuns).where(eq(backupRuns.status, 'running')).all();
      for (const run of running) {
        d.update(backupRuns)
          .set({
            status: 'succeeded',
            phase: 'done',
            finishedAt: run.finishedAt ?? new Date(),
            fileName: p.restored.fileName,
            sizeBytes: p.restored.sizeBytes,
            checksum: p.restored.checksum,
            manifest: run.manifest ?? p.restored.manifest,
            tempName: null,
            target: run.target ?? p.restored.location,
          })
          .where(eq(backupRuns.id, run.id))
          .run();
      }
      d.update(restoreRuns).set({ status: 'interrupted', finishedAt: new Date() }).where(eq(restoreRuns.status, 'running')).run();

      const identity = JSON.stringify({ id: p.applianceId });
      const stored = d.select().from(settings).where(eq(settings.key, 'appliance')).get();
      if (stored?.value !== identity)
        d.insert(settings)
        .values({ key: 'appliance', value: identity, updatedAt: new Date(), updatedBy: 'restore' })
        .onConflictDoUpdate({ target: settings.key, set: { value: identity, updatedAt: new Date(), updatedBy: 'restore' } })
        .run();

      let dmsResealed = false;
      const dmsRow = d.select().from(domainMasterSecret).get();
      if (!dmsRow) throw new Error('The backup holds no Domain Master Secret.');
      if (!sealedDmsOpensHere(dmsRow.sealed, p.dms)) {
        const triggers = sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'domain_master_secret' AND name = 'dms_no_update'").all() as { name: string; sql: string }[];
        for (const t of triggers) sqlite.exec(`DROP TRIGGER "${t.name}"`);
        d.update(domainMasterSecret).set({ sealed: sealDmsHere(p.dms) }).where(eq(domainMasterSecret.id, 1)).run();
        for (const t of triggers) sqlite.exec(t.sql);
        dmsResealed = true;
      }

      let oidcCleared = false;
      const oidcRow = d.select().from(settings).where(eq(settings.key, 'oidc')).get();
      if (oidcRow) {
        const parsed = oidcConfigSchema.safeParse(JSON.parse(oidcRow.value));
        if (parsed.success && !oidcSecretOpensHere(parsed.data)) {
          const cleared = JSON.stringify({ ...parsed.data, enabled: false, clientSecretSealed: '' });
          d.update(settings).set({ value: cleared, updatedAt: new Date(), updatedBy: 'restore' }).where(eq(settings.key, 'oidc')).run();
          oidcCleared = true;
        }
      }

      if (dmsResealed) d.delete(derivedKeys).run();
      for (const row of p.derivedKeys) d.insert(derivedKeys).values(row).onConflictDoNothing().run();

      const newRowId = d.insert(restoreRuns).values(p.row).returning({ id: restoreRuns.id }).get().id;
      return { newRowId, dmsResealed, oidcCleared, runsCompleted: running.length };
    })();
  });
}
