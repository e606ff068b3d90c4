import { describe, expect, it } from 'vitest';
import { checkSameOrigin } from '@/lib/http/same-origin';

const HOST = 'console.example.test:8443';
const URL_ = `https://${HOST}/api/backup/run`;

function req(headers: Record<string, string>) {
  return { headers: new Headers({ host: HOST, ...headers }), url: URL_ };
}

const CROSS_SITE = { ok: false, message: 'Cross-site request refused.' };
const NO_ORIGIN = { ok: false, message: 'Request refused: send an Origin header that names this console.' };

describe('checkSameOrigin', () => {
  it.each(['cross-site', 'same-site', 'none'])('Sec-Fetch-Site: %s is refused, even with a matching Origin', (site) => {
    expect(checkSameOrigin(req({ 'sec-fetch-site': site, origin: `https://${HOST}` }))).toEqual(CROSS_SITE);
  });

  it('a matching Origin is allowed (with or without fetch metadata)', () => {
    expect(checkSameOrigin(req({ origin: `https://${HOST}` }))).toEqual({ ok: true });
    expect(checkSameOrigin(req({ origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin' }))).toEqual({ ok: true });
  });

  it('Sec-Fetch-Site: same-origin without Origin is allowed', () => {
    expect(checkSameOrigin(req({ 'sec-fetch-site': 'same-origin' }))).toEqual({ ok: true });
  });

  it('no Origin and no fetch metadata is refused with guidance', () => {
    expect(checkSameOrigin(req({}))).toEqual(NO_ORIGIN);
  });

  it.each([
    ['another host', 'https://evil.example'],
    ['another port', 'https://console.example.test:9443'],
    ['default port instead of 8443', 'https://console.example.test'],
    ['a suffix of the host', 'https://console.example.test.evil.example:8443'],
    ['a userinfo trick', `https://${HOST}@evil.example`],
    ['the opaque null origin', 'null'],
    ['not a URL', 'garbage'],
    ['empty-host scheme', 'file://'],
  ])('Origin with %s is refused', (_name, origin) => {
    expect(checkSameOrigin(req({ origin }))).toEqual(CROSS_SITE);
  });

  it('same-origin fetch metadata does not excuse a mismatched Origin', () => {
    expect(checkSameOrigin(req({ origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' }))).toEqual(CROSS_SITE);
  });

  it('a request without a Host header is refused', () => {
    const r = { headers: new Headers({ origin: `https://${HOST}` }), url: URL_ };
    expect(checkSameOrigin(r)).toEqual(CROSS_SITE);
  });

  it('compares host and port, not the scheme (TLS is terminated by the console itself)', () => {
    expect(checkSameOrigin({ headers: new Headers({ host: 'localhost:3000', origin: 'http://localhost:3000' }), url: 'http://localhost:3000/api/x' })).toEqual({ ok: true });
  });
});
