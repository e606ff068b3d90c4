import { fleetConfigView, saveFleetConfig } from '@/lib/fleet/config';
import { jsonBody, withAuth } from '@/lib/http/route';
import { z } from 'zod';

export const GET = withAuth('devices:read', async () => fleetConfigView(), { name: 'api.fleet.config.read' });

export const PUT = withAuth(
  'devices:configure',
  async ({ req, actor }) => saveFleetConfig(actor, await jsonBody(req, z.unknown())),
  { name: 'api.fleet.config.save' },
);
