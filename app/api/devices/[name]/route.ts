import { z } from 'zod';
import { changeDevice, deviceByName, removeDevice } from '@/lib/fleet/devices';
import { deviceViewOf } from '@/lib/fleet/views';
import { jsonBody, withAuth } from '@/lib/http/route';

type P = { name: string };

export const GET = withAuth<P>('devices:read', async ({ params }) => deviceViewOf(deviceByName(params.name)), { name: 'api.devices.read', touch: false });

export const PATCH = withAuth<P>(
  'devices:configure',
  async ({ req, actor, params }) => deviceViewOf(await changeDevice(actor, params.name, await jsonBody(req, z.unknown()))),
  { name: 'api.devices.change' },
);

/** Refused while the device has backups, unless ?deleteBackups=true: then its stored backups are deleted with it. */
export const DELETE = withAuth<P>(
  'devices:configure',
  async ({ req, actor, params }) => removeDevice(actor, params.name, { deleteBackups: req.nextUrl.searchParams.get('deleteBackups') === 'true' }),
  { name: 'api.devices.remove' },
);
