import fsp from 'node:fs/promises';
import path from 'node:path';
import { dataDir } from '../env';
import { processState } from '../process-state';
import { CHUNK_SIZE } from '../age/format';
import { encryptedSize } from '../age';
import { TAR_BLOCK, listMembers } from './archive';

/**
 * About how many bytes the next backup will take on the storage: the
 * members the backup would take now (the live database and its write-ahead
 * log standing in for its snapshot), each with a tar header and padded to whole blocks, a
 * manifest of at least one age chunk, the tar end, and age's overhead.
 * Used for the free-space warning (the engine checks the exact planned size before writing). Kept for
 * ESTIMATE_MS: the status panel polls, and a large configuration is a walk.
 */
const ESTIMATE_MS = 60_000;
const HEADER_ALLOWANCE = 3 * TAR_BLOCK; // a pax header for long names, and the ustar header
const kept = processState('backup.estimate', () => ({ last: null as { at: number; bytes: number } | null }));

export async function estimateNextBackupBytes(opts: { fresh?: boolean } = {}): Promise<number> {
  if (!opts.fresh && kept.last && Date.now() - kept.last.at < ESTIMATE_MS) return kept.last.bytes;
  const live = path.join(dataDir(), 'webconf.db');
  const members = await listMembers(live);
  // The live database keeps recent pages in its write-ahead log; the snapshot holds them all.
  const wal = await fsp.stat(`${live}-wal`).then((st) => st.size, () => 0);
  let plain = wal;
  for (const m of members) plain += HEADER_ALLOWANCE + Math.ceil(m.size / TAR_BLOCK) * TAR_BLOCK;
  // The manifest: about 200 bytes per member, padded to whole chunks.
  plain += Math.ceil((TAR_BLOCK + 4096 + members.length * 200) / CHUNK_SIZE) * CHUNK_SIZE + 2 * TAR_BLOCK;
  const bytes = encryptedSize(plain);
  kept.last = { at: Date.now(), bytes };
  return bytes;
}

