import { backupStatus } from '@/lib/backup/status';
import { withAuth } from '@/lib/http/route';

/** The Backup Status table's data; the status panel polls it, which is not activity (the idle timeout still applies). */
export const GET = withAuth('backup:read', async () => backupStatus(), { name: 'api.backup.status', touch: false });
export const dynamic = 'force-dynamic';
