import { z } from 'zod';
import { setOrgKey } from '@/lib/fleet/config';
import { jsonBody, withAuth } from '@/lib/http/route';

/** The identity of a generated key is in this one answer only; it is never stored. */
export const PUT = withAuth('devices:configure', async ({ req, actor }) => setOrgKey(actor, await jsonBody(req, z.unknown())), { name: 'api.fleet.key.set' });
