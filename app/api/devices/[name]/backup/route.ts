import { z } from 'zod';
import { setDeviceBackup } from '@/lib/fleet/devices';
import { deviceViewOf } from '@/lib/fleet/views';
import { jsonBody, withAuth } from '@/lib/http/route';

export const PUT = withAuth<{ name: string }>(
  'devices:configure',
  async ({ req, actor, params }) => deviceViewOf(setDeviceBackup(actor, params.name, await jsonBody(req, z.unknown()))),
  { name: 'api.devices.backup' },
);
