import { z } from 'zod';
import { createChannel, listChannels } from '@/lib/alerts/channels';
import { failingConditions } from '@/lib/alerts/conditions';
import { pendingCounts } from '@/lib/alerts/deliverer';
import { reminderHours } from '@/lib/alerts/settings';
import { jsonBody, withAuth } from '@/lib/http/route';

/** The alert channels with their delivery state (never their secrets), what is failing now and the reminder interval. */
export const GET = withAuth(
  'alerts:configure',
  async () => {
    const pending = pendingCounts();
    return {
      channels: listChannels().map((c) => ({ ...c, pending: pending.get(c.id) ?? 0 })),
      failing: failingConditions().map((f) => ({ key: f.key, since: f.since.toISOString(), reminders: f.reminders })),
      reminderHours: reminderHours(),
    };
  },
  { name: 'api.alerts.channels.list' },
);

/** Adds a channel: the body as channelInputSchema (lib/alerts/schemas.ts), checked field by field by createChannel. The answer has no secret. */
export const POST = withAuth(
  'alerts:configure',
  async ({ req, actor }) => ({ channel: createChannel(actor, await jsonBody(req, z.record(z.string(), z.unknown()))) }),
  { name: 'api.alerts.channels.create' },
);
