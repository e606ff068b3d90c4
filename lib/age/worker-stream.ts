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
 *   chunkVerifier(offset, key, size)
 *                     authenticates the chunks of a file of `size` bytes from `offset`
 *                     (the last chunk ends at end of file) as its bytes are fed in order;
 *                     end() answers { plainBytes, chunks }; errors name the chunk
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

/** Authenticates chunks fed in file order (any piece sizes); the file is \`size\` bytes, chunk 0 at \`offset\`. */
function chunkVerifier(offset, key, size) {
  const total = size - offset;
  const count = Math.ceil(total / ${ENCRYPTED_CHUNK_SIZE});
  const carry = Buffer.allocUnsafe(${ENCRYPTED_CHUNK_SIZE});
  const nonce = Buffer.alloc(${CHUNK_NONCE_SIZE});
  let index = 0;
  let held = 0;
  let pos = offset;
  let plainBytes = 0;
  const fail = (error, chunk) => Object.assign(new Error(error), { verify: true, chunk });
  if (total < ${TAG_SIZE}) throw fail('The file is truncated: it has no payload chunk.', 0);
  const lengthOf = (i) => Math.min(${ENCRYPTED_CHUNK_SIZE}, total - i * ${ENCRYPTED_CHUNK_SIZE});
  function check(chunk) {
    const last = index === count - 1;
    if (chunk.length < ${TAG_SIZE}) throw fail('The file is truncated.', index);
    if (last && chunk.length === ${TAG_SIZE} && count > 1) throw fail('The last chunk is empty.', index);
    const d = crypto.createDecipheriv('chacha20-poly1305', key, setChunkNonce(nonce, index, last), { authTagLength: ${TAG_SIZE} });
    d.setAuthTag(chunk.subarray(chunk.length - ${TAG_SIZE}));
    d.update(chunk.subarray(0, chunk.length - ${TAG_SIZE}));
    try {
      d.final();
    } catch {
      throw fail('The backup file is damaged: chunk ' + index + ' failed authentication.', index);
    }
    plainBytes += chunk.length - ${TAG_SIZE};
    index++;
  }
  return {
    /** \`piece\` holds the file's bytes from \`at\`; bytes before the payload are skipped. */
    feed(piece, at) {
      let i = Math.max(0, pos - at);
      if (at + i !== pos) throw new Error('read-back out of order');
      while (i < piece.length && index < count) {
        const want = lengthOf(index);
        if (held === 0 && piece.length - i >= want) {
          check(piece.subarray(i, i + want));
          i += want;
        } else {
          const n = Math.min(want - held, piece.length - i);
          piece.copy(carry, held, i, i + n);
          held += n;
          i += n;
          if (held === want) {
            check(carry.subarray(0, want));
            held = 0;
          }
        }
      }
      pos = at + piece.length;
    },
    end() {
      if (index !== count) throw fail('The file changed while it was read back.', index);
      return { plainBytes, chunks: count };
    },
  };
}

`;

