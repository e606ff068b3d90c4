import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { CHUNK_VERIFIER_SOURCE, type ChunkVerification } from './age/chunk-verifier';

/**
 * SHA-256 off the main thread. The backup hashes every byte twice (each
 * member as it is packed, for the manifest; the stored file as it is read
 * back, for its checksum); on the main thread that work would queue behind
 * encryption. Two worker threads (the appliance has two cores) hash local
 * files by path (reading them themselves, alongside the main thread) or
 * streams fed chunk by chunk (remote files), with at most MAX_IN_FLIGHT bytes
 * queued per stream so memory stays bounded. The worker is evaluated from source so that no bundler needs to
 * know about it.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
${CHUNK_VERIFIER_SOURCE}
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'verifyChunks') {
    let r;
    try {
      r = verifyChunks(m);
    } catch (e) {
      r = { error: e.message, code: e.code };
    }
    parentPort.postMessage(r.error ? { id: m.id, error: r.error, code: r.code, kind: r.code ? undefined : 'verify' } : { id: m.id, hex: JSON.stringify(r) });
  } else if (m.op === 'file') {
    const h = crypto.createHash('sha256');
    const s = fs.createReadStream(m.path, { highWaterMark: 1 << 20 });
    s.on('data', (c) => h.update(c));
    s.on('end', () => parentPort.postMessage({ id: m.id, hex: h.digest('hex') }));
    s.on('error', (e) => parentPort.postMessage({ id: m.id, error: e.message, code: e.code }));
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

export class HashPool {
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
        if (!this.closing) this.fail(new Error(`a hashing worker stopped (exit code ${code})`));
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

  /** Hashes a local file by path in a worker, which reads it itself: no bytes cross threads. */
  hashFile(path: string, worker?: number): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.job(id, { resolve, reject })) {
        (worker === undefined ? this.worker() : this.workers[worker % this.workers.length]!).postMessage({ op: 'file', id, path });
      }
    });
  }

  /**
   * Authenticates every payload chunk of a local age file in a worker (the
   * other worker can hash the same file meanwhile). `offset` is where the
   * first chunk starts; `key` the payload key.
   */
  verifyChunks(path: string, offset: number, key: Buffer, worker = 0): Promise<ChunkVerification> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      if (this.job(id, { resolve, reject })) this.workers[worker % this.workers.length]!.postMessage({ op: 'verifyChunks', id, path, offset, key });
    }).then((json) => JSON.parse(json) as ChunkVerification);
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
