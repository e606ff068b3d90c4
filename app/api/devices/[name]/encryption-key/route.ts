import { z } from 'zod';
import { setDeviceKey } from '@/lib/fleet/devices';
import { jsonBody, withAuth } from '@/lib/http/route';

/** The identity of a generated key is in this one answer only; it is never stored. */
export const PUT = withAuth<{ name: string }>(
  'devices:configure',
  async ({ req, actor, params }) => setDeviceKey(actor, params.name, await jsonBody(req, z.unknown())),
  { name: 'api.devices.key' },
);
