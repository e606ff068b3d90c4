import { CHUNK_NONCE_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, LAST_CHUNK_FLAG, TAG_SIZE } from './format';

/**
 * The age STREAM payload (layout: format.ts) as the backup's worker threads
 * handle it: JavaScript source for lib/backup/backup-workers.ts, built from
 * format.ts's numbers, so that sealing and checking run off the main thread
 * (a worker cannot import the TypeScript of stream.ts; the worker is
 * evaluated from source so that no bundler needs to know about it).
 *
 *   setChunkNonce(nonce, index, last)  nonce = 11-byte big-endian counter || last flag
 *   sealChunks(key, src, dst, at, firstIndex, lastIndex)
 *                     seals src (whole 64 KiB chunks, except a last chunk) as chunks
 *                     firstIndex, ... into dst from `at`; answers the bytes written
 *   verifyChunks(m)   m = { path, offset, key (the payload key) }: reads a local file and
 *                     authenticates every chunk from `offset` to its end (the last chunk
 *                     ends at end of file); answers { plainBytes, chunks } or an error
 *                     that names the chunk
 */
export const STREAM_WORKER_SOURCE = `
function setChunkNonce(nonce, index, last) {
  nonce.writeUInt32BE(Math.floor(index / 4294967296), 3);
  nonce.writeUInt32BE(index >>> 0, 7);
  nonce[11] = last ? ${LAST_CHUNK_FLAG} : 0;
  return nonce;
}

function sealChunks(key, src, dst, at, firstIndex, lastIndex) {
  const nonce = Buffer.alloc(${CHUNK_NONCE_SIZE});
  let o = at;
  for (let off = 0; off < src.length; off += ${CHUNK_SIZE}) {
    const index = firstIndex + off / ${CHUNK_SIZE};
    const chunk = src.subarray(off, off + ${CHUNK_SIZE});
    if (chunk.length < ${CHUNK_SIZE} && index !== lastIndex) throw new Error('a short chunk that is not the last');
    const c = crypto.createCipheriv('chacha20-poly1305', key, setChunkNonce(nonce, index, index === lastIndex), { authTagLength: ${TAG_SIZE} });
    o += c.update(chunk).copy(dst, o);
    c.final();
    o += c.getAuthTag().copy(dst, o);
  }
  return o - at;
}

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
        const d = crypto.createDecipheriv('chacha20-poly1305', m.key, setChunkNonce(nonce, index, last), { authTagLength: ${TAG_SIZE} });
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
