import { jsonBody, withAuth } from '@/lib/http/route';
import { verifyScheduleInputSchema } from '@/lib/verify/schemas';
import { getVerifySchedule, saveVerifySchedule } from '@/lib/verify/settings';

/** The scheduled verifier's setting: { enabled, everyDays (1..365) }. */
export const GET = withAuth('backup:read', async () => ({ schedule: getVerifySchedule() }), { name: 'api.backup.verify-schedule.read' });

export const PUT = withAuth(
  'backup:configure',
  async ({ req, actor }) => ({ schedule: saveVerifySchedule(actor, await jsonBody(req, verifyScheduleInputSchema)) }),
  { name: 'api.backup.verify-schedule.save' },
);
