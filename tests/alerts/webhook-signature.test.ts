import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '@/lib/alerts/webhook-signature';

describe('webhook signature', () => {
  const secret = 'webhook-signing-secret-0123456789';
  const body = '{"kind":"failure"}';
  it('is the HMAC-SHA-256 of "<timestamp>.<body>" in hex', () => {
    const want = crypto.createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signWebhook(secret, body, 1700000000)).toBe(`sha256=${want}`);
  });
  it('verifies the right MAC within the tolerance and refuses a changed body, another secret or an old timestamp', () => {
    const sig = signWebhook(secret, body, 1700000000);
    expect(verifyWebhook(secret, body, '1700000000', sig, { now: 1700000100 })).toBe(true);
    expect(verifyWebhook(secret, body + ' ', '1700000000', sig, { now: 1700000100 })).toBe(false);
    expect(verifyWebhook('another-secret', body, '1700000000', sig, { now: 1700000100 })).toBe(false);
    expect(verifyWebhook(secret, body, '1700000000', sig, { now: 1700001000 })).toBe(false);
    expect(verifyWebhook(secret, body, undefined, sig)).toBe(false);
  });
});
