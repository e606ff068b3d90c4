import http from 'node:http';
import { verifyWebhook } from '@/lib/alerts/webhook-signature';
import { freePort } from './console-server';

/**
 * An HTTP receiver for webhook alerts on 127.0.0.1: it reads the raw body,
 * checks X-Webconf-Signature against the shared secret and the timestamp
 * (verifyWebhook), answers 204 and keeps the parsed body when the MAC is
 * right, 401 when not. `failWith` makes it answer that status instead (a
 * receiver in trouble).
 */
export type WebhookReceiver = {
  url: string;
  secret: string;
  accepted: Array<Record<string, unknown>>;
  refused: number;
  failWith: number | null;
  stop(): Promise<void>;
};

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const state: WebhookReceiver = { url: '', secret, accepted: [], refused: 0, failWith: null, stop: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.failWith) {
        res.writeHead(state.failWith).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const ok = verifyWebhook(secret, body, req.headers['x-webconf-timestamp'] as string | undefined, req.headers['x-webconf-signature'] as string | undefined);
      if (!ok || req.method !== 'POST' || req.headers['content-type'] !== 'application/json') {
        state.refused++;
        res.writeHead(401).end();
        return;
      }
      state.accepted.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${port}/hooks/webconf`;
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
