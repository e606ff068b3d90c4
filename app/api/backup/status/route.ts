import { backupStatus } from '@/lib/backup/status';
import { withAuth } from '@/lib/http/route';

/** The Backup Status table's data; the status panel polls it. */
export const GET = withAuth('backup:read', async () => backupStatus(), { name: 'api.backup.status' });
export const dynamic = 'force-dynamic';
