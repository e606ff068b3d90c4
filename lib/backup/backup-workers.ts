import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE } from '../age/format';
import { STREAM_WORKER_SOURCE } from '../age/worker-stream';

/**
 * The backup's heavy work, off the main thread, on two worker threads (the
 * appliance has two cores). While writing, the archive passes through shared
 * memory slots (see archive-writer.ts): one worker hashes each member's bytes
 * for the manifest, the other seals the slot's 64 KiB chunks (age STREAM,
 * age/worker-stream.ts) into the matching output slot; the main thread only reads and writes files.
 * For the read-back, one worker authenticates every chunk of the stored file
 * and the other hashes it, from windows the main thread reads once into
 * shared memory (local files, read-back.ts), or a stream is hashed
 * as it passes (remote files), with at most MAX_IN_FLIGHT bytes queued so
 * memory stays bounded. The worker is evaluated from source so that no
 * bundler needs to know about it.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
${STREAM_WORKER_SOURCE}
const streams = new Map();
const sessions = new Map();
let input = null;
let output = null;
let slotSize = 0;
let outSlotSize = 0;
let ring = null;
let windowSize = 0;

/** Member hashes over a slot [at, at + length): ranges are [start, end) in archive offsets, in order. */
function hashSlot(h, m) {
  const end = m.at + m.length;
  const base = m.slot * slotSize;
  if (m.at !== h.upTo) throw new Error('slots out of order');
  while (h.next < h.ranges.length) {
    const [s, e] = h.ranges[h.next];
    if (s > end || (e > s && s >= end)) break;
    h.hash ??= crypto.createHash('sha256');
    const from = Math.max(s, m.at);
    const to = Math.min(e, end);
    if (to > from) h.hash.update(input.subarray(base + from - m.at, base + to - m.at));
    if (e > end) break;
    h.digests.push(h.hash.digest('hex'));
    h.hash = null;
    h.next++;
  }
  h.upTo = end;
}

/** Runs a job and posts its answer; a failed check of the stored file (err.verify) reaches the caller as a ReadBackError. */
function answer(m, run) {
  try {
    parentPort.postMessage({ id: m.id, hex: String(run() ?? '') });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e.message, code: e.code, kind: e.verify ? 'verify' : undefined });
  }
}

parentPort.on('message', (m) => {
  if (m.op === 'attach') {
    input = Buffer.from(m.input);
    output = Buffer.from(m.output);
    slotSize = m.slotSize;
    outSlotSize = m.outSlotSize;
  } else if (m.op === 'hashBegin') {
    sessions.set(m.session, { ranges: m.ranges, next: 0, hash: null, digests: [], upTo: m.from });
  } else if (m.op === 'hashSlot') {
    answer(m, () => hashSlot(sessions.get(m.session), m));
  } else if (m.op === 'hashEnd') {
    answer(m, () => {
      const h = sessions.get(m.session);
      sessions.delete(m.session);
      if (h.next !== h.ranges.length) throw new Error('the archive ended before every member was hashed');
      return JSON.stringify(h.digests);
    });
  } else if (m.op === 'encryptBegin') {
    sessions.set(m.session, { key: m.key, lastChunk: m.lastChunk });
  } else if (m.op === 'encryptSlot') {
    answer(m, () => {
      const e = sessions.get(m.session);
      const src = input.subarray(m.slot * slotSize, m.slot * slotSize + m.length);
      return sealChunks(e.key, src, output, m.slot * outSlotSize, m.at / ${CHUNK_SIZE}, e.lastChunk);
    });
  } else if (m.op === 'end') {
    sessions.delete(m.session);
  } else if (m.op === 'rbAttach') {
    ring = Buffer.from(m.ring);
    windowSize = m.windowSize;
  } else if (m.op === 'rbBegin') {
    // A verifier that cannot even start (file shorter than its header) reports at the first window or at the end.
    let state;
    try {
      state = m.kind === 'hash' ? { hash: crypto.createHash('sha256'), upTo: 0 } : { verifier: chunkVerifier(m.offset, m.key, m.size) };
    } catch (e) {
      state = { error: e };
    }
    sessions.set(m.session, state);
  } else if (m.op === 'rbWindow') {
    const r = sessions.get(m.session);
    answer(m, () => {
      if (r.error) throw r.error;
      const piece = ring.subarray(m.slot * windowSize, m.slot * windowSize + m.length);
      if (r.hash) {
        if (m.at !== r.upTo) throw new Error('read-back out of order');
        r.hash.update(piece);
        r.upTo += piece.length;
      } else r.verifier.feed(piece, m.at);
    });
  } else if (m.op === 'rbEnd') {
    const r = sessions.get(m.session);
    sessions.delete(m.session);
    answer(m, () => {
      if (r.error) throw r.error;
      return r.hash ? r.hash.digest('hex') : JSON.stringify(r.verifier.end());
    });
  } else if (m.op === 'open') {
    streams.set(m.id, crypto.createHash('sha256'));
  } else if (m.op === 'update') {
    streams.get(m.id).update(m.data);
    parentPort.postMessage({ id: m.id, ack: m.data.length });
  } else if (m.op === 'digest') {
    const h = streams.get(m.id);
    streams.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  }
});
`;

const MAX_IN_FLIGHT = 16 << 20;

/** A check of the stored file failed (damaged chunk, truncation): words for the user, from the worker. */
export class ReadBackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadBackError';
  }
}

type Pending = { resolve: (hex: string) => void; reject: (err: Error) => void; onAck?: (n: number) => void };
type Reply = { id: number; hex?: string; ack?: number; error?: string; code?: string; kind?: 'verify' };

export class BackupWorkers {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  /** Once a worker died, every call fails at once: nothing may wait forever on it. */
  private failure: Error | null = null;

  constructor(size = 2) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: Reply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        if (m.ack !== undefined) return p.onAck?.(m.ack);
        this.pending.delete(m.id);
        if (m.error) p.reject(m.kind === 'verify' ? new ReadBackError(m.error) : Object.assign(new Error(m.error), { code: m.code }));
        else p.resolve(m.hex!);
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

  /** Posts a job to one worker; resolves with its answer. */
  private call(worker: number, message: Record<string, unknown>): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.job(id, { resolve, reject })) this.workers[worker % this.workers.length]!.postMessage({ ...message, id });
    });
  }

  /** Shares the archive pipeline's slots with every worker: `input` holds plaintext slots, `output` the sealed ones. */
  attach(input: SharedArrayBuffer, output: SharedArrayBuffer, slotSize: number, outSlotSize: number): void {
    for (const w of this.workers) w.postMessage({ op: 'attach', input, output, slotSize, outSlotSize });
  }

  /**
   * Hashes members from the input slots, which must come in order and
   * contiguous from `from`: `ranges` are each member's [start, end) in the
   * archive. end() answers the SHA-256 of each member.
   */
  hashMembers(ranges: [number, number][], from: number, worker = 1) {
    const session = this.nextId++;
    this.workers[worker % this.workers.length]!.postMessage({ op: 'hashBegin', session, ranges, from });
    return {
      slot: (slot: number, at: number, length: number) => this.call(worker, { op: 'hashSlot', session, slot, at, length }).then(() => undefined),
      end: () => this.call(worker, { op: 'hashEnd', session }).then((json) => JSON.parse(json) as string[]),
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
    const w = this.workers[worker % this.workers.length]!;
    w.postMessage({ op: 'encryptBegin', session, key, lastChunk });
    return {
      slot: (slot: number, at: number, length: number) => this.call(worker, { op: 'encryptSlot', session, slot, at, length }).then(Number),
      end: () => w.postMessage({ op: 'end', session }),
    };
  }

  /** Shares the read-back's ring of windows (read-back.ts) with every worker. */
  attachReadBack(ring: SharedArrayBuffer, windowSize: number): void {
    if (this.readBackActive) throw new Error('one read-back at a time per BackupWorkers');
    this.readBackActive = true;
    for (const w of this.workers) w.postMessage({ op: 'rbAttach', ring, windowSize });
  }

  /** The read-back's ring is no longer used: another read-back may attach its own. */
  detachReadBack(): void {
    this.readBackActive = false;
  }

  private readBackActive = false;

  /**
   * One check of a file being read back, on one worker, fed the ring's
   * windows in file order: 'hash' answers the SHA-256 of the file (from
   * offset 0), 'verify' authenticates every age chunk from `offset` (the
   * last chunk ends at `size`) and answers { plainBytes, chunks } as JSON.
   * A failed check rejects with a ReadBackError naming the chunk.
   */
  readBackSession(worker: number, o: { kind: 'hash' | 'verify'; size: number; offset?: number; key?: Buffer }) {
    const session = this.nextId++;
    this.workers[worker % this.workers.length]!.postMessage({ op: 'rbBegin', session, ...o });
    return {
      window: (slot: number, at: number, length: number) => this.call(worker, { op: 'rbWindow', session, slot, at, length }),
      end: () => this.call(worker, { op: 'rbEnd', session }),
    };
  }

  /** A pass-through stream that hashes what flows through it in a worker; `digest` resolves at the end. */
  tap(): { stream: Transform; digest: Promise<string> } {
    const pool = this;
    const id = this.nextId++;
    const w = this.worker();
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
      resolve: resolveDigest,
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
    if (registered) w.postMessage({ op: 'open', id });
    stream = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        if (!registered) return cb(pool.failure ?? new Error('hashing stopped'));
        inFlight += chunk.length;
        w.postMessage({ op: 'update', id, data: chunk });
        if (inFlight > MAX_IN_FLIGHT) waiting = () => cb(null, chunk);
        else cb(null, chunk);
      },
      flush(cb) {
        w.postMessage({ op: 'digest', id });
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
