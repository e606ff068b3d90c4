import { and, desc, eq, isNull } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { db } from '../db/client';
import { deviceBackups, type DeviceBackup } from '../db/schema';
import { openStoreAt, storeFailure, type FleetStore } from './backup-store';

/**
 * Keeps a device's `keep` most recent backups in this store (keep >= 1: the
 * newest good one always stays). Candidates are only records of
 * device_backups, so an object the console did not write (another tool's,
 * put beside ours) is never touched. A record whose object is gone already
 * is marked deleted too. Answers how many were removed.
 */
export async function applyDeviceRetention(store: FleetStore, deviceId: number, keep: number): Promise<number> {
  const k = Math.max(1, keep);
  const rows = db()
    .select()
    .from(deviceBackups)
    .where(and(eq(deviceBackups.deviceId, deviceId), eq(deviceBackups.location, store.location), eq(deviceBackups.storage, store.kind), isNull(deviceBackups.deletedAt)))
    // Newest by record (one run at a time: ids follow the order backups were taken), not by the clock, which may have been ahead then.
    .orderBy(desc(deviceBackups.id))
    .all();
  let removed = 0;
  for (const row of rows.slice(k)) {
    await store.remove(row.objectKey);
    db().update(deviceBackups).set({ deletedAt: new Date() }).where(eq(deviceBackups.id, row.id)).run();
    audit({ id: null, name: 'system', ip: null }, 'fleet.retention.remove', 'success', { target: row.objectKey, detail: { backup: row.id, device: deviceId, keep: k } });
    removed++;
  }
  return removed;
}

/**
 * Deletes these backups' objects (a device being removed). Those at the
 * configured store are deleted; those recorded at a store no longer
 * configured cannot be reached and are left there (counted in `left`).
 */
export async function removeBackupObjects(rows: readonly DeviceBackup[]): Promise<{ deleted: number; left: number; failed: string[] }> {
  const out = { deleted: 0, left: 0, failed: [] as string[] };
  const byLocation = new Map<string, DeviceBackup[]>();
  for (const r of rows) byLocation.set(r.location, [...(byLocation.get(r.location) ?? []), r]);
  for (const [location, list] of byLocation) {
    const store = openStoreAt(location);
    if (!store) {
      out.left += list.length;
      continue;
    }
    try {
      for (const r of list) {
        try {
          await store.remove(r.objectKey);
          db().update(deviceBackups).set({ deletedAt: new Date() }).where(eq(deviceBackups.id, r.id)).run();
          out.deleted++;
        } catch (err) {
          const f = storeFailure(err);
          if (!f) throw err;
          out.failed.push(f.message);
        }
      }
    } finally {
      await store.close();
    }
  }
  return out;
}
