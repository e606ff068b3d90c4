import { Transform, type TransformCallback } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { AgePayloadError, type AgePayloadReason } from '../age/errors';
import { startTsWorker } from '../ts-worker';
import type { MemberSpan, WorkerReply, WorkerRequest, WorkerValue } from './worker-protocol';

/**
 * The backup's heavy work, off the main thread, on two worker threads (the
 * appliance has two cores), each running worker-thread.ts (the jobs are in
 * worker-jobs.ts, the messages in worker-protocol.ts).
 *
 * While writing, the archive passes through shared memory slots (see
 * archive-writer.ts): one worker hashes each member's bytes for the
 * manifest, the other seals the slot's 64 KiB chunks (age STREAM,
 * lib/age/chunks.ts) into the matching output slot; the main thread only
 * reads and writes files.
 *
 * Reading a local backup file back (read-back.ts): the main thread reads
 * the file once into a ring of shared windows; one worker authenticates
 * every chunk, the other hashes the file. Verifying it (verify-local.ts):
 * both workers decrypt windows into a second ring, one of them hashes the
 * file, the other the archive's members. A remote file's stream is hashed
 * as it passes (tap), with at most MAX_IN_FLIGHT bytes queued so memory
 * stays bounded.
 */
const WORKER_MODULE = 'lib/backup/worker-thread.ts';

const MAX_IN_FLIGHT = 16 << 20;

/** A check of the stored file failed (damaged chunk, truncation): words for the user, from the worker. */
export class ReadBackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadBackError';
  }
}

type Pending = { resolve: (value: WorkerValue) => void; reject: (err: Error) => void; onAck?: (n: number) => void };

/** The error a worker reported, raised again here: an age chunk's failure as the AgePayloadError it was. */
function workerError(m: Extract<WorkerReply, { error: string }>): Error {
  if (m.payload) return new AgePayloadError(m.payload.reason as AgePayloadReason, m.payload.chunk);
  return Object.assign(new Error(m.error), { code: m.code });
}

export class BackupWorkers {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  /** Once a worker died, every call fails at once: nothing may wait forever on it. */
  private failure: Error | null = null;

  constructor(size = 2) {
    this.workers = Array.from({ length: size }, () => {
      const w = startTsWorker(WORKER_MODULE);
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        if ('ack' in m) return p.onAck?.(m.ack);
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(workerError(m));
        else p.resolve(m.value);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a backup worker stopped (exit code ${code})`));
      });
      return w;
    });
  }

  private closing = false;

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private worker(): Worker {
    return this.workers[this.turn++ % this.workers.length]!;
  }

  /** Registers a job; rejects at once when the pool has failed. */
  private job(id: number, p: Pending): boolean {
    if (this.failure) {
      p.reject(this.failure);
      return false;
    }
    this.pending.set(id, p);
    return true;
  }

  /** Posts a message that is not answered. */
  private post(worker: number, message: WorkerRequest): void {
    this.workers[worker % this.workers.length]!.postMessage(message);
  }

  /** Posts a job to one worker; resolves with its answer (of the type the job answers, see worker-jobs.ts). */
  private call<T extends WorkerValue>(worker: number, message: WorkerRequest & { id: number }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.job(message.id, { resolve: resolve as (v: WorkerValue) => void, reject })) this.post(worker, message);
    });
  }

  /** Shares the archive pipeline's slots with every worker: `input` holds plaintext slots, `output` the sealed ones. */
  attach(input: SharedArrayBuffer, output: SharedArrayBuffer, slotSize: number, outSlotSize: number): void {
    for (let w = 0; w < this.workers.length; w++) this.post(w, { op: 'attach', input, output, slotSize, outSlotSize });
  }

  /**
   * Hashes members from the input slots, which must come in order and
   * contiguous from `from`: `ranges` are each member's [start, end) in the
   * archive. end() answers the SHA-256 of each member.
   */
  hashMembers(ranges: [number, number][], from: number, worker = 1) {
    const session = this.nextId++;
    this.post(worker, { op: 'hashBegin', session, ranges, from });
    return {
      slot: (slot: number, at: number, length: number) => this.call<undefined>(worker, { op: 'hashSlot', id: this.nextId++, session, slot, at, length }),
      end: () => this.call<string[]>(worker, { op: 'hashEnd', id: this.nextId++, session }),
    };
  }

  /**
   * Seals input slots into output slots as age STREAM chunks under the
   * payload `key`; a slot starting at archive offset `at` holds chunks from
   * at / 64 KiB on, and chunk `lastChunk` carries the last-chunk flag.
   * slot() answers the sealed bytes in the output slot.
   */
  encryptChunks(key: Buffer, lastChunk: number, worker = 0) {
    const session = this.nextId++;
    this.post(worker, { op: 'encryptBegin', session, key, lastChunk });
    return {
      slot: (slot: number, at: number, length: number) => this.call<number>(worker, { op: 'encryptSlot', id: this.nextId++, session, slot, at, length }),
      end: () => this.post(worker, { op: 'end', session }),
    };
  }

  /**
   * Shares a read's ring of windows (read-back.ts, verify-local.ts: slot i
   * at i · slotSize) with every worker, and for a verify the plain ring its
   * chunks are decrypted into (slot i of `plain` holds the plaintext of
   * window i; its slotSize ≥ the window + 64 KiB).
   */
  attachReadBack(ring: SharedArrayBuffer, slotSize: number, plain?: { ring: SharedArrayBuffer; slotSize: number }): void {
    if (this.readBackActive) throw new Error('one read-back at a time per BackupWorkers');
    this.readBackActive = true;
    for (let w = 0; w < this.workers.length; w++) this.post(w, { op: 'rbAttach', ring, slotSize, plain: plain?.ring, plainSlotSize: plain?.slotSize });
  }

  /** The read-back's ring is no longer used: another read-back may attach its own. */
  detachReadBack(): void {
    this.readBackActive = false;
  }

  private readBackActive = false;

  /** Windows of the attached ring must reach a session in file order. */
  private window<T extends WorkerValue>(worker: number, session: number) {
    return (slot: number, at: number, length: number) => this.call<T>(worker, { op: 'rbWindow', id: this.nextId++, session, slot, at, length });
  }

  /** The SHA-256 of the file read into the attached ring, fed its windows from offset 0. */
  fileHash(worker: number) {
    const session = this.nextId++;
    this.post(worker, { op: 'rbBegin', session, kind: 'hash' });
    return { window: this.window<undefined>(worker, session), end: () => this.call<string>(worker, { op: 'rbEnd', id: this.nextId++, session }) };
  }

  /**
   * Every age chunk of a file of `size` bytes, chunk 0 at `offset`, from the
   * attached ring's windows in file order: authenticated under `key`.
   * end() answers the totals. A failed chunk rejects with an AgePayloadError
   * naming it.
   */
  chunkCheck(worker: number, o: { size: number; offset: number; key: Buffer }) {
    const session = this.nextId++;
    this.post(worker, { op: 'rbBegin', session, kind: 'verify', size: o.size, offset: o.offset, key: o.key });
    return {
      window: this.window<undefined>(worker, session),
      end: () => this.call<{ plainBytes: number; chunks: number }>(worker, { op: 'rbEnd', id: this.nextId++, session }),
    };
  }

  /**
   * Decrypts a file of `size` bytes, chunk 0 at `offset`, window by window
   * on any worker (each window on its own, so both can work on one file):
   * window(worker, slot, at, length, available) opens every chunk that
   * starts in the file's bytes [at, at + length), which the ring's slot
   * holds from its start on, `available` bytes of them (the window, then
   * the next window's head, so that the last chunk is whole); the plaintext
   * goes to the plain slot of the same index. Answers its bytes and chunks.
   * A failed chunk rejects with an AgePayloadError naming it.
   */
  chunkWindows(o: { size: number; offset: number; key: Buffer }) {
    const session = this.nextId++;
    for (let w = 0; w < this.workers.length; w++) this.post(w, { op: 'rbBegin', session, kind: 'chunks', size: o.size, offset: o.offset, key: o.key });
    return {
      window: (worker: number, slot: number, at: number, length: number, available: number) =>
        this.call<{ plainBytes: number; chunks: number }>(worker, { op: 'rbChunks', id: this.nextId++, session, slot, at, length, available }),
      end: () => Promise.all(this.workers.map((_, w) => this.call<undefined>(w, { op: 'rbEnd', id: this.nextId++, session }))).then(() => undefined),
    };
  }

  /** Members' SHA-256 from spans of the plain ring's slots, in member order; slot() answers the digests of members that ended in it. */
  memberSpans(worker: number) {
    const session = this.nextId++;
    this.post(worker, { op: 'rbBegin', session, kind: 'members' });
    return {
      slot: (slot: number, spans: MemberSpan[]) => this.call<string[]>(worker, { op: 'rbMembers', id: this.nextId++, session, slot, spans }),
      end: () => this.call<undefined>(worker, { op: 'rbEnd', id: this.nextId++, session }),
    };
  }

  /** A pass-through stream that hashes what flows through it in a worker; `digest` resolves at the end. */
  tap(): { stream: Transform; digest: Promise<string> } {
    const pool = this;
    const id = this.nextId++;
    const w = this.worker();
    const send = (m: WorkerRequest) => w.postMessage(m);
    let inFlight = 0;
    let waiting: (() => void) | null = null;
    let resolveDigest!: (hex: string) => void;
    let rejectDigest!: (err: Error) => void;
    const digest = new Promise<string>((res, rej) => {
      resolveDigest = res;
      rejectDigest = rej;
    });
    digest.catch(() => undefined);
    let stream!: Transform;
    const registered = this.job(id, {
      resolve: (v) => resolveDigest(v as string),
      reject: (err) => {
        rejectDigest(err);
        // A stalled or dead worker must not leave a piped stream waiting: it fails too.
        if (stream && stream.listenerCount('error') > 0) stream.destroy(err);
      },
      onAck: (n) => {
        inFlight -= n;
        if (waiting && inFlight <= MAX_IN_FLIGHT) {
          const go = waiting;
          waiting = null;
          go();
        }
      },
    });
    if (registered) send({ op: 'open', id });
    stream = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        if (!registered) return cb(pool.failure ?? new Error('hashing stopped'));
        inFlight += chunk.length;
        send({ op: 'update', id, data: chunk });
        if (inFlight > MAX_IN_FLIGHT) waiting = () => cb(null, chunk);
        else cb(null, chunk);
      },
      flush(cb) {
        send({ op: 'digest', id });
        cb();
      },
    });
    return { stream, digest };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.pending.values()) p.reject(new Error('hashing stopped'));
    this.pending.clear();
  }
}
