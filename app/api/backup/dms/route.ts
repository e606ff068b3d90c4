import { NextResponse } from 'next/server';
import { dmsInfo, setDms } from '@/lib/backup/dms';
import { dmsFormSchema } from '@/lib/backup/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

/** Whether the DMS is set (never the DMS itself). */
export const GET = withAuth('backup:read', async () => ({ set: dmsInfo().set }), { name: 'api.backup.dms.read' });

/** Set the DMS, once. 409 ever after. */
export const PUT = withAuth(
  'backup:configure',
  async ({ req, actor }) => {
    const body = await jsonBody(req, dmsFormSchema);
    await setDms(actor, body.dms);
    return NextResponse.json({ set: true, message: 'DOMAIN MASTER SECRET IS SET.' });
  },
  { name: 'api.backup.dms.set' },
);
