/**
 * The messages between the backup's main thread (backup-workers.ts) and its
 * two worker threads (worker-thread.ts, doing worker-jobs.ts). Bytes never
 * travel in messages, except for tap() of a stream: they sit in shared
 * memory that the main thread attached once, and a job names a slot of it
 * and a range. Keys arrive as Uint8Array (structured clone drops Buffer).
 *
 * Jobs with an `id` are answered once, with `value` or `error`; the others
 * are answered never. `update` is acknowledged (ack = bytes taken) so that the
 * stream being hashed can wait for the worker.
 *
 *   write     attach(input, output), hashBegin/hashSlot/hashEnd (member
 *             hashes over the archive's layout), encryptBegin/encryptSlot/end
 *   read      rbAttach(ring[, plain]) then sessions rbBegin/rbWindow/rbEnd:
 *               hash     SHA-256 of the file, windows from offset 0
 *               verify   every age chunk authenticated (the read-back)
 *               chunks   decrypts the chunks that start in one window (rbChunks), each
 *                        on its own, so both workers decrypt windows of one file; the
 *                        slot holds the window and, past it, the next window's head;
 *                        plaintext into the plain ring's slot of the same index
 *               members  SHA-256 of each member, spans of plain slots (rbMembers)
 *   stream    open/update/digest
 */
export type SessionKind = 'hash' | 'verify' | 'chunks' | 'members';

/** A member's bytes within a plain slot: [start, end) in the slot, and whether the member ends there. */
export type MemberSpan = [start: number, end: number, ends: boolean];

export type WorkerRequest =
  | { op: 'attach'; input: SharedArrayBuffer; output: SharedArrayBuffer; slotSize: number; outSlotSize: number }
  | { op: 'hashBegin'; session: number; ranges: [number, number][]; from: number }
  | { op: 'hashSlot'; id: number; session: number; slot: number; at: number; length: number }
  | { op: 'hashEnd'; id: number; session: number }
  | { op: 'encryptBegin'; session: number; key: Uint8Array; lastChunk: number }
  | { op: 'encryptSlot'; id: number; session: number; slot: number; at: number; length: number }
  | { op: 'end'; session: number }
  | { op: 'rbAttach'; ring: SharedArrayBuffer; slotSize: number; plain?: SharedArrayBuffer; plainSlotSize?: number }
  | { op: 'rbBegin'; session: number; kind: SessionKind; size?: number; offset?: number; key?: Uint8Array }
  | { op: 'rbWindow'; id: number; session: number; slot: number; at: number; length: number }
  | { op: 'rbChunks'; id: number; session: number; slot: number; at: number; length: number; available: number }
  | { op: 'rbMembers'; id: number; session: number; slot: number; spans: MemberSpan[] }
  | { op: 'rbEnd'; id: number; session: number }
  | { op: 'open'; id: number }
  | { op: 'update'; id: number; data: Uint8Array }
  | { op: 'digest'; id: number };

/** What a job answers: encryptSlot the sealed bytes; rbChunks and rbEnd of 'verify' the totals; hashes their hex digests. */
export type WorkerValue = string | number | string[] | { plainBytes: number; chunks: number } | undefined;

/** A failure: `payload` when an age chunk failed (lib/age AgePayloadError), so the main thread can raise the same error. */
export type WorkerFailure = { error: string; code?: string; payload?: { reason: string; chunk: number } };

export type WorkerReply = { id: number; ack: number } | ({ id: number; value: WorkerValue } & { error?: undefined }) | ({ id: number } & WorkerFailure);
