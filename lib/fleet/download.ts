import path from 'node:path';
import type { Readable } from 'node:stream';
import { and, eq, isNull } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { deviceBackups } from '../db/schema';
import { AppError } from '../errors';
import { openStoreAt, storeFailure } from './backup-store';
import { deviceByName } from './devices';

/**
 * A device backup as stored: the encrypted age file, streamed from the S3
 * store or the console's storage (the console never decrypts it; the
 * operator does, with age and the identity). Only a backup of this device
 * the console recorded, at the store configured now.
 */
export async function openDeviceBackup(actor: Actor, name: string, id: number): Promise<{ body: Readable; size: number | null; fileName: string }> {
  const d = deviceByName(name);
  const row = db()
    .select()
    .from(deviceBackups)
    .where(and(eq(deviceBackups.id, id), eq(deviceBackups.deviceId, d.id), isNull(deviceBackups.deletedAt)))
    .get();
  if (!row) throw new AppError('not_found', `${d.name} has no backup ${id}.`);
  const store = openStoreAt(row.location);
  if (!store) throw new AppError('conflict', `Backup ${id} of ${d.name} is stored at ${row.location}, which is no longer the configured storage for device backups.`);
  try {
    const got = await store.get(row.objectKey);
    got.body.once('close', () => void store.close());
    audit(actor, 'fleet.backup.download', 'success', { target: d.name, detail: { backup: id, objectKey: row.objectKey } });
    const base = path.posix.basename(row.objectKey);
    const fileName = row.storage === 's3' ? `${d.name}-${base}` : base;
    return { body: got.body, size: got.size, fileName };
  } catch (err) {
    await store.close();
    const f = storeFailure(err);
    if (!f) throw err;
    throw new AppError(f.code === 'internal' ? 'unprocessable' : f.code, `Backup ${id} of ${d.name} could not be read: ${f.message}`);
  }
}
