import { z } from 'zod';
import { pinHostKey } from '@/lib/fleet/devices';
import { deviceViewOf } from '@/lib/fleet/views';
import { jsonBody, withAuth } from '@/lib/http/route';

export const POST = withAuth<{ name: string }>(
  'devices:configure',
  async ({ req, actor, params }) => deviceViewOf(await pinHostKey(actor, params.name, await jsonBody(req, z.unknown()))),
  { name: 'api.devices.pin' },
);
