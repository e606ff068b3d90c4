import { scheduleInputSchema } from '@/lib/backup/schemas';
import { nextRuns } from '@/lib/backup/schedule';
import { getBackupSettings, saveBackupSettings } from '@/lib/backup/settings';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth(
  'backup:read',
  async () => {
    const s = getBackupSettings();
    return { schedule: s.schedule, retention: s.retention, nextRuns: nextRuns(s.schedule, 5) };
  },
  { name: 'api.backup.schedule.read' },
);

export const PUT = withAuth(
  'backup:configure',
  async ({ req, actor }) => {
    const { retention, ...schedule } = await jsonBody(req, scheduleInputSchema);
    const saved = saveBackupSettings(actor, { schedule, ...(retention === undefined ? {} : { retention }) });
    return { schedule: saved.schedule, retention: saved.retention, nextRuns: nextRuns(saved.schedule, 5) };
  },
  { name: 'api.backup.schedule.save' },
);
