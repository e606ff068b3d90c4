import { NextResponse } from 'next/server';
import { jsonBody, withAuth } from '@/lib/http/route';
import { restoreRequestSchema } from '@/lib/restore/schemas';
import { restoreStatus, startRestore } from '@/lib/restore/service';

/** The restore this console runs or ran, and the last restores. Admins only (the plan names accounts and settings). */
export const GET = withAuth('backup:restore', async () => restoreStatus(), { name: 'api.restore.status', touch: false });

/** Starts a restore (confirmed by the appliance name); 202 once it holds the lock, 409/422 when refused (nothing changed). */
export const POST = withAuth(
  'backup:restore',
  async ({ actor, req }) => NextResponse.json(await startRestore(actor, await jsonBody(req, restoreRequestSchema)), { status: 202 }),
  { name: 'api.restore.start' },
);
