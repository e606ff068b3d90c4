import { sendTest } from '@/lib/alerts/channels';
import { channelIdSchema } from '@/lib/alerts/schemas';
import { withAuth } from '@/lib/http/route';

/** Sends a test message through the channel now: `{ delivered, message }`, the message in words either way. */
export const POST = withAuth<{ id: string }>(
  'alerts:configure',
  async ({ params, actor }) => {
    const { id } = channelIdSchema.parse(params);
    const r = await sendTest(actor, id);
    return { delivered: r.ok, message: r.message };
  },
  { name: 'api.alerts.channels.test' },
);
