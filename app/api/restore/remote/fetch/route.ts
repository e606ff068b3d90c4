import { NextResponse } from 'next/server';
import { jsonBody, withAuth } from '@/lib/http/route';
import { fetchIncoming } from '@/lib/restore/incoming';
import { remoteSourceSchema } from '@/lib/sources/schemas';

/** Fetches a backup file over SFTP or SCP from a host whose key is pinned (the password or key is used once, never kept). */
export const POST = withAuth(
  'backup:restore',
  async ({ actor, req }) => NextResponse.json({ file: await fetchIncoming(actor, await jsonBody(req, remoteSourceSchema), { signal: req.signal }) }, { status: 201 }),
  { name: 'api.restore.remote.fetch' },
);
