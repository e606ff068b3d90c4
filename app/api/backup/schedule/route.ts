import { z } from 'zod';
import { cronProblem } from '@/lib/backup/schemas';
import { nextRuns } from '@/lib/backup/schedule';
import { getBackupSettings, saveBackupSettings } from '@/lib/backup/settings';
import { AppError } from '@/lib/errors';
import { jsonBody, withAuth } from '@/lib/http/route';

const scheduleBodySchema = z.object({
  enabled: z.boolean(),
  cron: z.string().trim().min(1).max(100),
  timezone: z.string().trim().min(1).max(64),
  retention: z.number().int().min(0).max(1000).optional(),
});

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
    const body = await jsonBody(req, scheduleBodySchema);
    const problem = cronProblem(body.cron, body.timezone);
    if (problem) throw new AppError('unprocessable', `Not a valid schedule: ${problem}`, { field: 'cron' });
    const { retention, ...schedule } = body;
    const saved = saveBackupSettings(actor, { schedule, ...(retention === undefined ? {} : { retention }) });
    return { schedule: saved.schedule, retention: saved.retention, nextRuns: nextRuns(saved.schedule, 5) };
  },
  { name: 'api.backup.schedule.save' },
);
