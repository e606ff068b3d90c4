import { NextResponse } from 'next/server';
import { db } from '@/lib/db/client';

/** Liveness for tests and monitoring: the database answers. Reveals nothing else. */
export function GET() {
  try {
    db().$client.prepare('select 1').get();
    return NextResponse.json({ ok: true });
  } catch {
    return NextResponse.json({ ok: false }, { status: 503 });
  }
}
export const dynamic = 'force-dynamic';
