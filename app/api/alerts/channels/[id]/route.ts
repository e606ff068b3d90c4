import { z } from 'zod';
import { removeChannel, updateChannel } from '@/lib/alerts/channels';
import { channelIdSchema } from '@/lib/alerts/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

/**
 * Replaces a channel's settings: the body as for POST /api/alerts/channels
 * (its kind cannot change). A missing or empty secret keeps the stored one.
 */
export const PUT = withAuth<{ id: string }>(
  'alerts:configure',
  async ({ params, actor, req }) => {
    const { id } = channelIdSchema.parse(params);
    return { channel: updateChannel(actor, id, await jsonBody(req, z.record(z.string(), z.unknown()))) };
  },
  { name: 'api.alerts.channels.update' },
);

/** Removes a channel; the alerts still queued for it go with it. */
export const DELETE = withAuth<{ id: string }>(
  'alerts:configure',
  async ({ params, actor }) => {
    const { id } = channelIdSchema.parse(params);
    removeChannel(actor, id);
    return { ok: true };
  },
  { name: 'api.alerts.channels.delete' },
);
