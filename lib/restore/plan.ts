import type { BackupDetails } from '../backup/details';
import { formatSize } from '../storage/format-size';
import type { SchemaRelation } from './staged-database';
import { diffStates, type StateChange, type StateSummary } from './state-summary';

/**
 * What a restore would do, before it does anything (the dry-run), in words
 * an admin can act on. `blockers` stop the restore; `warnings` do not.
 */
export type RestorePlan = {
  file: { name: string; sizeBytes: number; source: string; checksum: string };
  backup: {
    appliance: { id: string; name: string; firmwareVersion: string };
    createdAt: string;
    formatVersion: number;
    parts: { kind: string; label: string; included: boolean; files: number; bytes: number }[];
    databaseIntegrity: string;
    excluded: string[];
  };
  /** Every chunk authenticated, every member's SHA-256 and the signed manifest checked (full verify). */
  verified: true;
  signature: 'verified';
  /** Opened with this appliance's sealed DMS, or with the one the admin entered. */
  dms: 'this appliance' | 'entered';
  sameAppliance: boolean;
  schema: SchemaRelation;
  here: { applianceId: string; applianceName: string; firmwareVersion: string };
  blockers: string[];
  warnings: string[];
  steps: { part: string; now: string; after: string }[];
  changes: StateChange[];
  identity: { item: string; outcome: string }[];
  byHand: string[];
  /** What the admin types to confirm: this appliance's name. */
  confirmWith: string;
};

export type PlanInput = {
  details: Extract<BackupDetails, { dms: 'this' }>;
  source: string;
  checksum: string;
  dmsSource: 'this appliance' | 'entered';
  here: { applianceId: string; applianceName: string; firmwareVersion: string; dmsSet: boolean };
  schema: SchemaRelation;
  now: StateSummary;
  after: StateSummary | null;
  live: { firmware: { files: number; bytes: number }; system: { files: number; bytes: number } };
  busy: string | null;
};

const files = (n: { files: number; bytes: number }) => `${n.files} file${n.files === 1 ? '' : 's'}, ${formatSize(n.bytes)}`;

export function buildPlan(i: PlanInput): RestorePlan {
  const d = i.details;
  const sameAppliance = d.appliance.id === i.here.applianceId;
  const blockers: string[] = [];
  const warnings: string[] = [];
  if (d.appliance.firmwareVersion !== i.here.firmwareVersion) {
    blockers.push(
      `This backup was made with firmware version ${d.appliance.firmwareVersion}; this appliance runs ${i.here.firmwareVersion}. ` +
        `A restore needs the same version, including patches: install firmware ${d.appliance.firmwareVersion} first, or restore a backup made with ${i.here.firmwareVersion}.`,
    );
  }
  if (i.schema.relation === 'newer') {
    blockers.push(
      `This backup was made by a newer console (database schema ${i.schema.backup}; this console knows ${i.schema.console}). Update the console, then restore.`,
    );
  } else if (i.schema.relation === 'older') {
    warnings.push(`The backup's database (schema ${i.schema.backup}) will be migrated forward to this console's schema ${i.schema.console} after it is restored.`);
  }
  if (d.contents.database.integrityCheck !== 'ok') blockers.push(`The backup's database failed its integrity check when the backup was made (${d.contents.database.integrityCheck}).`);
  if (i.busy) blockers.push(i.busy);
  if (!sameAppliance) warnings.push(`This backup was made on another appliance (${d.appliance.name}, ${d.appliance.id}). Its settings and accounts will apply here; this appliance keeps its own identity.`);
  if (i.dmsSource === 'entered' && i.here.dmsSet && i.after?.dms && i.now.dms?.setAt !== i.after.dms.setAt) {
    warnings.push('The Domain Master Secret becomes the backup\'s. Backups made here with the current secret can then only be opened by entering that secret.');
  }
  warnings.push('Every session ends: everyone, you included, signs in again with an account of the restored state.');
  const historyLost = i.now.history.runs > (i.after?.history.runs ?? 0);
  if (i.after && historyLost) warnings.push('Backup runs recorded after this backup was made will no longer be listed in the history; their files stay on the storage location.');

  const part = (kind: string) => d.contents.parts.find((p) => p.kind === kind);
  const steps = [
    { part: 'Firmware configuration', now: files(i.live.firmware), after: files(part('firmware') ?? { files: 0, bytes: 0 }) },
    { part: 'System configuration', now: files(i.live.system), after: files(part('system') ?? { files: 0, bytes: 0 }) },
    { part: 'Internal database', now: 'accounts, settings, schedule, storage, history, audit trail', after: `the backup's copy, ${formatSize(part('database')?.bytes ?? 0)}` },
  ];
  const identity = [
    { item: 'Appliance name', outcome: `stays ${i.here.applianceName} (this appliance's host name)` },
    { item: 'Appliance id', outcome: sameAppliance ? `stays ${i.here.applianceId} (the backup's own)` : `stays ${i.here.applianceId}; the backup's ${d.appliance.id} is not taken` },
    { item: 'TLS certificate and key', outcome: 'stay this appliance\'s (never in a backup)' },
    { item: "The console's sealing keys", outcome: 'stay this appliance\'s (never in a backup)' },
    {
      item: 'Domain Master Secret',
      outcome: i.dmsSource === 'this appliance' ? "the backup's, which is this appliance's own" : "the backup's (the one you entered), sealed again with this appliance's key",
    },
    {
      item: 'OpenID Connect client secret',
      outcome: sameAppliance ? "restored (sealed with this appliance's key)" : "restored only if it was sealed with this appliance's key; otherwise cleared and OpenID Connect sign-in turned off until an admin enters the secret again",
    },
  ];
  return {
    file: { name: d.fileName, sizeBytes: d.sizeBytes, source: i.source, checksum: i.checksum },
    backup: {
      appliance: d.appliance,
      createdAt: d.createdAt,
      formatVersion: d.formatVersion,
      parts: d.contents.parts,
      databaseIntegrity: d.contents.database.integrityCheck,
      excluded: d.contents.excluded,
    },
    verified: true,
    signature: 'verified',
    dms: i.dmsSource,
    sameAppliance,
    schema: i.schema,
    here: { applianceId: i.here.applianceId, applianceName: i.here.applianceName, firmwareVersion: i.here.firmwareVersion },
    blockers,
    warnings,
    steps,
    changes: i.after ? diffStates(i.now, i.after) : [],
    identity,
    byHand: [
      'HSM contents: never in a backup. Restore them from the HSM vendor\'s own backup.',
      'External databases: only their configuration is in a backup. Restore their data with the database\'s own tools.',
    ],
    confirmWith: i.here.applianceName,
  };
}
