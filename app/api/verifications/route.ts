import { NextResponse } from 'next/server';
import { jsonBody, withAuth } from '@/lib/http/route';
import { storageRefusal } from '@/lib/storage/refusal';
import { fileVerificationsAt, fileVerificationsOfRun, recentVerifications, toVerificationView } from '@/lib/verify/queries';
import { verificationProgress } from '@/lib/verify/registry';
import { verifyListQuerySchema, verifyStartSchema } from '@/lib/verify/schemas';
import { startVerificationAt, startVerificationOfRun } from '@/lib/verify/verify-backup';

/**
 * Verifications. GET ?runId=N (a backup of the history) or ?url=<file URL>
 * (a file in a storage location): its latest verification, its verdict and
 * its history; without either, the latest of all. POST { level, runId } or
 * { level, url } starts one: 202 with its record, then poll
 * /api/verifications/<id>; 409 while another verification runs (or, for a
 * full one, a backup).
 */
export const GET = withAuth(
  'backup:read',
  async ({ req }) => {
    const q = verifyListQuerySchema.parse(Object.fromEntries(req.nextUrl.searchParams));
    if (q.runId !== undefined) return fileVerificationsOfRun(q.runId, q.limit);
    if (q.url !== undefined) return storageRefusal(() => fileVerificationsAt(q.url!, q.limit));
    return { verifications: recentVerifications(q.limit) };
  },
  { name: 'api.verifications.list', touch: false },
);

export const POST = withAuth(
  'backup:verify',
  async ({ req, actor }) => {
    const body = await jsonBody(req, verifyStartSchema);
    const row = 'runId' in body ? await startVerificationOfRun(body.runId, body.level, actor) : await storageRefusal(() => startVerificationAt(body.url, body.level, actor));
    return NextResponse.json({ verification: toVerificationView(row, verificationProgress(row.id)) }, { status: 202 });
  },
  { name: 'api.verifications.start' },
);
