import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NfsError } from '@/lib/nfs/errors';
import { ConnectionError, RpcConnection } from '@/lib/nfs/rpc-connection';
import { frameRecord, RecordParser } from '@/lib/nfs/rpc-record';
import { XdrError, type XdrReader } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';
import type { FuzzReport } from './fuzz-cases';
import { inWorker } from './in-worker';
import { acceptedReply, runScenario, scenarios } from './replies';

describe('decoding hostile replies', () => {
  it('decodes or refuses with XdrError, Nfs4StatusError or RpcError: random bytes, truncations, changed bytes, huge lengths', async () => {
    // In a worker thread: a decode that never returned would freeze this thread; the worker is stopped after 20 s.
    const report = await inWorker<FuzzReport>('./fuzz-cases.ts', 'runFuzz', 20260301, 20_000);
    expect(report.unexpected).toEqual([]);
    expect(report.truncatedNotRefused).toEqual([]);
    expect(report.cases).toBeGreaterThan(5000);
    // The cases reach past the RPC header into the compound: each way of ending occurs.
    for (const outcome of ['ok', 'XdrError', 'Nfs4StatusError', 'RpcError']) expect(report.outcomes[outcome], outcome).toBeGreaterThan(0);
  });
});

/** A server for one test: answers each call record with `answer`; `closed` settles when each connection has closed. The server and its sockets are closed after each test. */
type Server = { port: number; closed: Promise<void>[] };
let server: net.Server | null = null;
const serverSockets = new Set<net.Socket>();
let conn: RpcConnection | null = null;

async function serve(answer: (socket: net.Socket, call: { xid: number; proc: number }) => void): Promise<Server> {
  const s: Server = { port: 0, closed: [] };
  server = net.createServer((socket) => {
    serverSockets.add(socket);
    s.closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.on('error', () => undefined);
    const parser = new RecordParser(1 << 20);
    socket.on('data', (chunk) => {
      for (const call of parser.push(chunk)) answer(socket, { xid: call.readUInt32BE(0), proc: call.readUInt32BE(20) });
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  s.port = (server.address() as net.AddressInfo).port;
  return s;
}

async function connect(port: number): Promise<RpcConnection> {
  conn = await RpcConnection.connect({ host: '127.0.0.1', port, timeoutMs: 300, prog: 100003, vers: 4, auth: { machineName: 't', uid: 0, gid: 0 }, maxRecord: 1 << 20 });
  return conn;
}

/** How a call settled, and after how long. */
async function settle(p: Promise<XdrReader>): Promise<{ reader?: XdrReader; error?: Error; ms: number }> {
  const t0 = performance.now();
  try {
    const reader = await p;
    return { reader, ms: performance.now() - t0 };
  } catch (err) {
    return { error: err as Error, ms: performance.now() - t0 };
  }
}

function expectConnectionError(error: Error | undefined, code: string): void {
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe(code);
}

/** A valid reply to `xid` whose results are the given words. */
function reply(xid: number, ...words: number[]): Buffer {
  const w = new XdrWriter();
  for (const x of words) w.u32(x);
  return frameRecord(acceptedReply(xid, w.finish()));
}

afterEach(async () => {
  conn?.close();
  conn = null;
  if (server) {
    const s = server;
    server = null;
    // close() calls back once every connection has ended.
    const closed = new Promise<void>((resolve, reject) => s.close((err) => (err ? reject(err) : resolve())));
    for (const socket of serverSockets) socket.destroy();
    serverSockets.clear();
    await closed;
    expect(s.listening).toBe(false);
  }
});

describe('RpcConnection against a misbehaving server', () => {
  it('fails the call with EPROTO when the server answers garbage, and closes the connection', async () => {
    const s = await serve((socket) => socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    const c = await connect(s.port);
    const r = await settle(c.call(1, Buffer.alloc(8)));
    expectConnectionError(r.error, 'EPROTO');
    expect(r.error!.message).toMatch(/malformed reply: a record of more than 1048576 bytes/);
    // Every later call fails at once with the same error; the server sees the connection closed.
    expect(c.broken?.code).toBe('EPROTO');
    expectConnectionError((await settle(c.call(1, Buffer.alloc(0)))).error, 'EPROTO');
    await Promise.all(s.closed);
    expect(NfsError.from('nfs://127.0.0.1/x', 'list "/"', r.error).code).toBe('EPROTO');
  });

  it('fails every call in flight with EPROTO when a record header claims 2^31-1 bytes', async () => {
    let calls = 0;
    const s = await serve((socket) => {
      if (++calls === 2) socket.write(Buffer.from('7fffffff0000000000000000', 'hex'));
    });
    const c = await connect(s.port);
    const [a, b] = await Promise.all([settle(c.call(1, Buffer.alloc(0))), settle(c.call(1, Buffer.alloc(0)))]);
    expectConnectionError(a.error, 'EPROTO');
    expectConnectionError(b.error, 'EPROTO');
    expect(a.error).toBe(b.error);
    await Promise.all(s.closed);
  });

  it('fails the call with ECONNRESET when the server sends part of a record and closes', async () => {
    const s = await serve((socket, call) => {
      const w = new XdrWriter().u32((0x80000000 | 100) >>> 0).u32(call.xid).u32(1).u32(0).u32(0);
      socket.end(w.finish());
    });
    const c = await connect(s.port);
    const r = await settle(c.call(1, Buffer.alloc(0)));
    expectConnectionError(r.error, 'ECONNRESET');
    expect(r.error!.message).toBe('the server closed the connection');
    expect(c.broken?.code).toBe('ECONNRESET');
  });

  it('fails the call with ETIMEDOUT at its deadline when the server says nothing', async () => {
    const s = await serve(() => undefined);
    const c = await connect(s.port);
    const r = await settle(c.call(1, Buffer.alloc(0)));
    expectConnectionError(r.error, 'ETIMEDOUT');
    expect(r.error!.message).toBe('no answer within 300 ms');
    expect(r.ms).toBeGreaterThanOrEqual(290);
    expect(r.ms).toBeLessThan(1300);
    // A call's own deadline overrides the connection's.
    const quick = await settle(c.call(1, Buffer.alloc(0), 50));
    expectConnectionError(quick.error, 'ETIMEDOUT');
    expect(quick.ms).toBeLessThan(290);
  });

  it('ignores a reply with another xid: the call still ends with ETIMEDOUT', async () => {
    const s = await serve((socket, call) => socket.write(reply((call.xid + 1) >>> 0, 0)));
    const c = await connect(s.port);
    const r = await settle(c.call(1, Buffer.alloc(0)));
    expectConnectionError(r.error, 'ETIMEDOUT');
    expect(r.ms).toBeGreaterThanOrEqual(290);
    // A call without an answer gives the connection up (its state is unknown).
    expect(c.broken?.code).toBe('ETIMEDOUT');
  });

  it('gives the connection up when a call times out: calls in flight and later ones fail at once, a late reply changes nothing', async () => {
    const s = await serve((socket, call) => {
      if (call.proc === 7) setTimeout(() => socket.write(reply(call.xid, 7)), 150);
      else if (call.proc === 8) return;
      else socket.write(reply(call.xid, call.proc));
    });
    const c = await connect(s.port);
    const waiting = settle(c.call(8, Buffer.alloc(0), 5000));
    const late = await settle(c.call(7, Buffer.alloc(0), 50));
    expectConnectionError(late.error, 'ETIMEDOUT');
    const other = await waiting;
    expectConnectionError(other.error, 'ETIMEDOUT');
    expect(other.ms).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the late reply would arrive meanwhile
    const next = await settle(c.call(9, Buffer.alloc(0)));
    expectConnectionError(next.error, 'ETIMEDOUT');
    expect(next.ms).toBeLessThan(50);
  });

  it('resolves a valid reply with a reader at the results, however the server splits it', async () => {
    const sc = scenarios[0]!;
    const s = await serve((socket, call) => {
      const framed = frameRecord(acceptedReply(call.xid, sc.body));
      if (call.proc === 1) return void socket.write(framed);
      // proc 2: a few bytes at a time
      let at = 0;
      const more = () => {
        if (at >= framed.length) return;
        socket.write(framed.subarray(at, (at += 7)));
        setImmediate(more);
      };
      more();
    });
    const c = await connect(s.port);
    for (const proc of [1, 2]) {
      const r = await settle(c.call(proc, Buffer.alloc(0)));
      expect(r.error).toBeUndefined();
      expect(runScenario(sc, r.reader!)).toEqual('values' in sc.expected ? sc.expected.values : null);
    }
  });

  it('matches replies to calls by xid when the server answers out of order', async () => {
    const held: { socket: net.Socket; xid: number; proc: number }[] = [];
    const s = await serve((socket, call) => {
      held.push({ socket, ...call });
      if (held.length === 3) for (const h of held.reverse()) h.socket.write(reply(h.xid, h.proc * 10));
    });
    const c = await connect(s.port);
    const rs = await Promise.all([3, 4, 5].map((proc) => settle(c.call(proc, Buffer.alloc(0)))));
    expect(rs.map((r) => r.reader?.u32())).toEqual([30, 40, 50]);
  });

  it('rejects the call whose reply has a malformed RPC header with XdrError (EPROTO for callers)', async () => {
    const s = await serve((socket, call) => socket.write(frameRecord(new XdrWriter().u32(call.xid).u32(0).u32(2).finish())));
    const c = await connect(s.port);
    const r = await settle(c.call(1, Buffer.alloc(0)));
    expect(r.error).toBeInstanceOf(XdrError);
    expect(r.error!.message).toMatch(/not a reply/);
    expect(NfsError.from('nfs://127.0.0.1/x', 'stat "a"', r.error).code).toBe('EPROTO');
  });

  it('fails calls in flight with ECONNRESET when the client closes the connection', async () => {
    const s = await serve(() => undefined);
    const c = await connect(s.port);
    const p = settle(c.call(1, Buffer.alloc(0)));
    c.close();
    const r = await p;
    expectConnectionError(r.error, 'ECONNRESET');
    expect(r.ms).toBeLessThan(290);
    await Promise.all(s.closed);
  });

  it('refuses to connect to a port nobody listens on with ECONNREFUSED', async () => {
    const s = await serve(() => undefined);
    const port = s.port;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    let thrown: unknown;
    try {
      await connect(port);
    } catch (err) {
      thrown = err;
    }
    expectConnectionError(thrown as Error, 'ECONNREFUSED');
    expect((thrown as Error).message).toMatch(/refused/);
  });
});
