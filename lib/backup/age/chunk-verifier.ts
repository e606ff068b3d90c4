import { CHUNK_NONCE_SIZE, ENCRYPTED_CHUNK_SIZE, LAST_CHUNK_FLAG, TAG_SIZE } from './format';

/**
 * Checks every STREAM chunk of an age payload stored in a local file, in a
 * worker thread, so that a backup's read-back does not compete with the main
 * thread. JavaScript source for the backup workers (see
 * lib/backup/backup-workers.ts), built from format.ts's numbers; the layout is the
 * one in format.ts: chunks of ENCRYPTED_CHUNK_SIZE bytes from `offset` to the
 * end of the file, nonce = 11-byte big-endian counter || last flag, the last
 * chunk ends at end of file. Answers { plainBytes, chunks } or an error that
 * names the chunk.
 *
 * Function `verifyChunks(m)`: m = { path, offset, key (Uint8Array, the payload key) }.
 */
export const CHUNK_VERIFIER_SOURCE = `
function verifyChunks(m) {
  const fd = fs.openSync(m.path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const total = size - m.offset;
    if (total < ${TAG_SIZE}) return { error: 'The file is truncated: it has no payload chunk.', chunk: 0 };
    const count = Math.ceil(total / ${ENCRYPTED_CHUNK_SIZE});
    const batch = 64;
    const buf = Buffer.allocUnsafe(batch * ${ENCRYPTED_CHUNK_SIZE});
    const nonce = Buffer.alloc(${CHUNK_NONCE_SIZE});
    let plainBytes = 0;
    for (let first = 0; first < count; first += batch) {
      const pos = m.offset + first * ${ENCRYPTED_CHUNK_SIZE};
      const want = Math.min(buf.length, size - pos);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, buf, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      if (got !== want) return { error: 'The file changed while it was read back.', chunk: first };
      for (let i = 0; first + i < count && i * ${ENCRYPTED_CHUNK_SIZE} < got; i++) {
        const index = first + i;
        const chunk = buf.subarray(i * ${ENCRYPTED_CHUNK_SIZE}, Math.min(got, (i + 1) * ${ENCRYPTED_CHUNK_SIZE}));
        const last = index === count - 1;
        if (chunk.length < ${TAG_SIZE} || (!last && chunk.length !== ${ENCRYPTED_CHUNK_SIZE})) return { error: 'The file is truncated.', chunk: index };
        if (last && chunk.length === ${TAG_SIZE} && count > 1) return { error: 'The last chunk is empty.', chunk: index };
        nonce.writeUInt32BE(Math.floor(index / 4294967296), 3);
        nonce.writeUInt32BE(index >>> 0, 7);
        nonce[11] = last ? ${LAST_CHUNK_FLAG} : 0;
        const d = crypto.createDecipheriv('chacha20-poly1305', m.key, nonce, { authTagLength: ${TAG_SIZE} });
        d.setAuthTag(chunk.subarray(chunk.length - ${TAG_SIZE}));
        d.update(chunk.subarray(0, chunk.length - ${TAG_SIZE}));
        try {
          d.final();
        } catch {
          return { error: 'The backup file is damaged: chunk ' + index + ' failed authentication.', chunk: index };
        }
        plainBytes += chunk.length - ${TAG_SIZE};
      }
    }
    return { plainBytes, chunks: count };
  } finally {
    fs.closeSync(fd);
  }
}
`;

export type ChunkVerification = { plainBytes: number; chunks: number };
