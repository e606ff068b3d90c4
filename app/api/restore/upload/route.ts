import { NextResponse } from 'next/server';
import { AppError } from '@/lib/errors';
import { withAuth } from '@/lib/http/route';
import { acceptUpload } from '@/lib/restore/incoming';
import { UPLOAD_FILE_NAME_HEADER } from '@/lib/sources';
import { uploadFileNameSchema } from '@/lib/sources/schemas';

/**
 * A backup file uploaded for a restore: the raw file as the body
 * (application/octet-stream), its name percent-encoded in x-webconf-file-name.
 * Streamed to a temporary file, never held in memory (lib/sources/upload.ts).
 */
export const POST = withAuth(
  'backup:restore',
  async ({ actor, req }) => {
    if (!req.body) throw new AppError('bad_request', 'Choose a backup file to upload.');
    if (!(req.headers.get('content-type') ?? '').startsWith('application/octet-stream')) throw new AppError('bad_request', 'Send the backup file as application/octet-stream.');
    const length = Number(req.headers.get('content-length'));
    const fileName = uploadFileNameSchema.parse(req.headers.get(UPLOAD_FILE_NAME_HEADER) ?? undefined);
    const file = await acceptUpload(actor, req.body, { fileName, total: Number.isFinite(length) && length > 0 ? length : undefined, signal: req.signal });
    return NextResponse.json({ file }, { status: 201 });
  },
  { name: 'api.restore.upload' },
);
