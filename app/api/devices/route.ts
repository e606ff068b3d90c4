import { NextResponse } from 'next/server';
import { z } from 'zod';
import { addDevice } from '@/lib/fleet/devices';
import { deviceViewOf, deviceViews } from '@/lib/fleet/views';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth('devices:read', async () => ({ devices: deviceViews() }), { name: 'api.devices.list', touch: false });

export const POST = withAuth(
  'devices:configure',
  async ({ req, actor }) => NextResponse.json(deviceViewOf(await addDevice(actor, await jsonBody(req, z.unknown()))), { status: 201, headers: { 'Cache-Control': 'no-store' } }),
  { name: 'api.devices.add' },
);
