import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { freePort } from './console-server';
import { makeTestCertificate, type TestCertificate } from './test-certificate';

/**
 * A real SMTP server for tests (npm smtp-server) on 127.0.0.1 and a free
 * port: STARTTLS with a self-signed certificate (made with openssl), AUTH
 * LOGIN/PLAIN only after STARTTLS, one user and password. Every message
 * accepted is kept whole (raw RFC 5322 text) in `messages`.
 *
 * `startBlackhole()` is the other case: a TCP port that accepts connections
 * and never says a word (an SMTP address that hangs).
 */
export type ReceivedMail = { from: string; to: string[]; raw: string; user: string | undefined; secure: boolean };

export type TestSmtpServer = {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  cert: TestCertificate;
  messages: ReceivedMail[];
  /** Resolves once `n` messages have arrived (or rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
};

export async function startSmtpServer(opts: { user?: string; password?: string; port?: number } = {}): Promise<TestSmtpServer> {
  const cert = makeTestCertificate('webconf-test-smtp');
  const user = opts.user ?? 'alerts@example.test';
  const password = opts.password ?? 'smtp-password-' + Math.random().toString(36).slice(2);
  const messages: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    key: cert.keyPem,
    cert: cert.certPem,
    authMethods: ['LOGIN', 'PLAIN'],
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.on('error', () => undefined);
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    cert,
    messages,
    waitFor(n, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} mails, got ${messages.length}`)), timeoutMs);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve(messages);
          } else waiters.push(check);
        };
        check();
      });
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      cert.remove();
    },
  };
}

/** A port that accepts TCP connections and never answers (they are held until stop()). */
export async function startBlackhole(port?: number): Promise<{ port: number; connections: () => number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const p = port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(p, '127.0.0.1', resolve));
  return {
    port: p,
    connections: () => count,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
