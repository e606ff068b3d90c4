import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { AlertMessage, WebhookConfig } from '../schemas';
import { AlertSendError, connectionWords } from '../send-error';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from '../webhook-signature';

/**
 * Webhook: the alert as JSON in a POST, signed (webhook-signature.ts). Any
 * 2xx answer is a delivery; anything else is a failure in words. Redirects
 * are not followed (the body is signed for this URL).
 */
const TIMEOUT_MS = 15_000;

export async function sendWebhook(config: WebhookConfig, secret: string, message: AlertMessage, now: () => number = Date.now): Promise<void> {
  const url = new URL(config.url);
  const body = JSON.stringify({ type: 'webconf.alert', version: 1, ...message });
  const timestamp = Math.floor(now() / 1000);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'user-agent': 'Webconf-Alerts/1',
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signWebhook(secret, body, timestamp),
  };
  const status = await new Promise<number>((resolve, reject) => {
    const opts = { method: 'POST', headers, timeout: TIMEOUT_MS };
    const req =
      url.protocol === 'https:'
        ? https.request(url, { ...opts, minVersion: 'TLSv1.2', ca: config.trustedCa ? [...tls.rootCertificates, config.trustedCa] : undefined })
        : http.request(url, opts);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.end(body);
  }).catch((err) => {
    throw new AlertSendError(connectionWords(err, url.hostname, port) ?? `The webhook ${url.origin} could not be reached: ${(err as Error).message.slice(0, 200)}`);
  });
  if (status < 200 || status > 299) {
    const words = status === 401 || status === 403 ? ' (the receiver refused the signature or the request)' : status >= 500 ? ' (an error on the receiver)' : '';
    throw new AlertSendError(`The webhook ${url.origin}${url.pathname} answered HTTP ${status}${words}.`);
  }
}
