import { NextResponse } from 'next/server';
import { z } from 'zod';
import { startFleetRun } from '@/lib/fleet/run';
import { jsonBody, withAuth } from '@/lib/http/route';

export const POST = withAuth(
  'devices:run',
  async ({ req, actor }) => {
    const body = (req.headers.get('content-length') ?? '0') === '0' && !req.headers.get('content-type') ? {} : await jsonBody(req, z.object({ devices: z.unknown().optional() }).strict());
    const run = await startFleetRun(actor, { trigger: 'manual', devices: (body as { devices?: unknown }).devices });
    return NextResponse.json({ runId: run.id }, { status: 202, headers: { 'Cache-Control': 'no-store' } });
  },
  { name: 'api.fleet.run.start' },
);
