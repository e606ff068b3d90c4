import { NextResponse } from 'next/server';
import { startBackup } from '@/lib/backup/engine';
import { backupHistory } from '@/lib/backup/runs';
import { toRunView } from '@/lib/backup/run-view';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth('backup:read', async () => ({ runs: backupHistory(100).map(toRunView) }), { name: 'api.backups.list' });

/** Backup now. 202 with the run; 409 when a backup is already running or cannot be created. */
export const POST = withAuth(
  'backup:run',
  async ({ actor }) => NextResponse.json({ run: toRunView(await startBackup('manual', actor)) }, { status: 202 }),
  { name: 'api.backups.start' },
);
