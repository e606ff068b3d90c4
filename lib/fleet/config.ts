import { generateX25519Identity } from '../age';
import { audit, type Actor } from '../audit/audit';
import { seal, unseal } from '../crypto/seal';
import { AppError } from '../errors';
import { S3Store, isS3Error } from '../s3';
import { getSetting, putSetting } from '../settings/store';
import { describeStorage, getStorageConfig } from '../storage/config';
import {
  DEFAULT_CRON,
  DEFAULT_RETENTION,
  fleetConfigInputSchema,
  orgKeyInputSchema,
  storedFleetConfigSchema,
  type FleetConfigInput,
  type StoredFleetConfig,
} from './schemas';

/**
 * The organisation's device backup configuration: one per console, in the
 * settings table under "fleet-backup". The S3 secret key is sealed
 * (purpose S3_SECRET_PURPOSE) and never answered; the encryption key is the
 * public half only (an identity generated here is answered once and never
 * stored). An S3 location is checked (a probe object written, read back and
 * removed) before it is saved, so a saved configuration is one that worked.
 */
export const FLEET_CONFIG_KEY = 'fleet-backup';
export const S3_SECRET_PURPOSE = 'fleet-s3-secret';

export type FleetConfigView = {
  status: 'enabled' | 'disabled';
  storage:
    | { kind: 's3'; endpoint: string; region: string; bucket: string; folder: string; accessKeyId: string; secretKey: 'configured' }
    | { kind: 'console'; location: string }
    | null;
  schedule: { cron: string; timezone: string };
  encryptionKey: { configured: boolean; recipient: string | null };
  retention: number;
  createdAt: string | null;
  updatedAt: string | null;
  updatedBy: string | null;
};

export function getFleetConfig(): StoredFleetConfig | null {
  return getSetting(FLEET_CONFIG_KEY, storedFleetConfigSchema) ?? null;
}

/** What a configuration is before the first save. */
function defaults(): StoredFleetConfig {
  return { enabled: false, storage: null, schedule: { cron: DEFAULT_CRON, timezone: 'UTC' }, recipient: null, retention: DEFAULT_RETENTION, createdAt: '', updatedAt: '', updatedBy: '' };
}

export function fleetConfigView(config: StoredFleetConfig | null = getFleetConfig()): FleetConfigView {
  const c = config ?? defaults();
  const s = c.storage;
  return {
    status: c.enabled ? 'enabled' : 'disabled',
    storage:
      s === null
        ? null
        : s.kind === 's3'
          ? { kind: 's3', endpoint: s.endpoint, region: s.region, bucket: s.bucket, folder: s.folder, accessKeyId: s.accessKeyId, secretKey: 'configured' }
          : { kind: 'console', location: describeStorage(getStorageConfig()) },
    schedule: c.schedule,
    encryptionKey: { configured: c.recipient !== null, recipient: c.recipient },
    retention: c.retention,
    createdAt: config?.createdAt || null,
    updatedAt: config?.updatedAt || null,
    updatedBy: config?.updatedBy || null,
  };
}

/** An S3 store for the stored S3 storage (the secret unsealed here, kept inside the store). */
export function s3StoreOf(storage: Extract<NonNullable<StoredFleetConfig['storage']>, { kind: 's3' }>): S3Store {
  return new S3Store({
    endpoint: storage.endpoint,
    region: storage.region,
    bucket: storage.bucket,
    folder: storage.folder,
    accessKeyId: storage.accessKeyId,
    secretAccessKey: unseal(storage.secretSealed, S3_SECRET_PURPOSE),
  });
}

function save(next: StoredFleetConfig, actor: Actor): StoredFleetConfig {
  const now = new Date().toISOString();
  const value = { ...next, createdAt: next.createdAt || now, updatedAt: now, updatedBy: actor.name };
  putSetting(FLEET_CONFIG_KEY, storedFleetConfigSchema, value, actor.name);
  return value;
}

/** Changes what is given; checks an S3 location before anything is saved (AppError in words, nothing changed). */
export async function saveFleetConfig(actor: Actor, raw: unknown): Promise<FleetConfigView> {
  const input: FleetConfigInput = fleetConfigInputSchema.parse(raw);
  const current = getFleetConfig() ?? defaults();
  const next: StoredFleetConfig = { ...current };
  if (input.enabled !== undefined) next.enabled = input.enabled;
  if (input.schedule) next.schedule = input.schedule;
  if (input.retention !== undefined) next.retention = input.retention;
  const changed: string[] = Object.keys(input).filter((k) => k !== 'storage');
  if (input.storage?.kind === 'console') {
    if (getStorageConfig().type === 'none') {
      throw new AppError('unprocessable', "The console's own backup storage is not set (Storage Type None). Choose a storage location on the Backup page first, or use an S3 bucket.", { field: 'storage' });
    }
    next.storage = { kind: 'console' };
    changed.push('storage');
  } else if (input.storage?.kind === 's3') {
    const st = input.storage;
    let secret = st.secretKey;
    if (secret === undefined) {
      if (current.storage?.kind !== 's3') throw new AppError('unprocessable', 'Enter the S3 secret key.', { field: 'storage.secretKey' });
      secret = unseal(current.storage.secretSealed, S3_SECRET_PURPOSE);
    }
    const store = new S3Store({ endpoint: st.endpoint, region: st.region, bucket: st.bucket, folder: st.folder, accessKeyId: st.accessKeyId, secretAccessKey: secret });
    try {
      await store.check();
    } catch (err) {
      if (isS3Error(err)) {
        audit(actor, 'fleet.config.save', 'failure', { detail: { reason: err.message, endpoint: st.endpoint, bucket: st.bucket } });
        throw new AppError('unprocessable', `The S3 location was not saved: ${err.message}`, { field: 'storage' });
      }
      throw err;
    } finally {
      store.close();
    }
    next.storage = { kind: 's3', endpoint: st.endpoint, region: st.region, bucket: st.bucket, folder: st.folder, accessKeyId: st.accessKeyId, secretSealed: seal(secret, S3_SECRET_PURPOSE) };
    changed.push('storage');
  }
  const saved = save(next, actor);
  audit(actor, 'fleet.config.save', 'success', {
    detail: { changed, status: saved.enabled ? 'enabled' : 'disabled', storage: saved.storage?.kind ?? null, schedule: saved.schedule, retention: saved.retention },
  });
  return fleetConfigView(saved);
}

/** Sets the organisation's recipient, or generates a key pair: the identity is answered once and never stored. */
export function setOrgKey(actor: Actor, raw: unknown): { recipient: string; identity?: string } {
  const input = orgKeyInputSchema.parse(raw);
  const current = getFleetConfig() ?? defaults();
  let recipient: string;
  let identity: string | undefined;
  if (input.generate) {
    const id = generateX25519Identity();
    recipient = id.recipient.toString();
    identity = id.exportSecretKey();
  } else {
    recipient = input.recipient!;
  }
  save({ ...current, recipient }, actor);
  audit(actor, 'fleet.key.set', 'success', { detail: { recipient, generated: identity !== undefined } });
  return identity ? { recipient, identity } : { recipient };
}
