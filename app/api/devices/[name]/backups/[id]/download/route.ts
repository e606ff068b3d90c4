import { Readable } from 'node:stream';
import { z } from 'zod';
import { openDeviceBackup } from '@/lib/fleet/download';
import { withAuth } from '@/lib/http/route';

/** The encrypted age file as stored, streamed as an attachment. */
export const GET = withAuth<{ name: string; id: string }>(
  'devices:download',
  async ({ params, actor }) => {
    const { id } = z.object({ id: z.coerce.number().int().positive() }).parse({ id: params.id });
    const file = await openDeviceBackup(actor, params.name, id);
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${file.fileName}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    };
    if (file.size !== null) headers['Content-Length'] = String(file.size);
    return new Response(Readable.toWeb(file.body) as ReadableStream, { headers });
  },
  { name: 'api.devices.download' },
);
