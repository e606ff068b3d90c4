import type { BackupRun } from '../db/schema';

/** A backup run as routes and pages show it: no temporary names, the manifest summary parsed. */
export type RunView = Omit<BackupRun, 'tempName' | 'manifest' | 'startedAt' | 'finishedAt' | 'prunedAt'> & {
  startedAt: string;
  finishedAt: string | null;
  prunedAt: string | null;
  manifest: Record<string, unknown> | null;
};

export function toRunView(run: BackupRun): RunView {
  const { tempName: _t, manifest, startedAt, finishedAt, prunedAt, ...rest } = run;
  return {
    ...rest,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt?.toISOString() ?? null,
    prunedAt: prunedAt?.toISOString() ?? null,
    manifest: manifest ? (JSON.parse(manifest) as Record<string, unknown>) : null,
  };
}
