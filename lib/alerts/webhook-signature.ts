import crypto from 'node:crypto';

/**
 * Webhook signatures. The sender puts the Unix time in seconds in
 * `X-Webconf-Timestamp` and
 *
 *   X-Webconf-Signature: sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<raw body>")>
 *
 * A receiver recomputes the MAC over the timestamp, a full stop and the
 * request body exactly as received, compares in constant time, and refuses a
 * timestamp too far from its clock (a replay).
 */
export const SIGNATURE_HEADER = 'x-webconf-signature';
export const TIMESTAMP_HEADER = 'x-webconf-timestamp';

export function signWebhook(secret: string, body: string | Buffer, timestamp: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `sha256=${mac}`;
}

/** True when `signature` is the MAC of this body and timestamp and the timestamp is within `toleranceSeconds` of `now`. */
export function verifyWebhook(
  secret: string,
  body: string | Buffer,
  timestampHeader: string | undefined,
  signature: string | undefined,
  opts: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!timestampHeader || !signature || !/^\d{1,12}$/.test(timestampHeader)) return false;
  const ts = Number(timestampHeader);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return false;
  const want = Buffer.from(signWebhook(secret, body, ts));
  const got = Buffer.from(signature);
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}
