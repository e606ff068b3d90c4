import { describe, expect, it } from 'vitest';
import { safeCallbackUrl } from '@/lib/http/callback-url';

const BASE = 'https://console.example.test:8443';

describe('safeCallbackUrl', () => {
  it.each(['/users', '/backup', '/settings/sign-in', '/backup?tab=history#last', '/users/12'])('keeps the console path %j', (p) => {
    expect(safeCallbackUrl(p)).toBe(p);
  });

  it.each([undefined, '', 'users', 'backup?x=1'])('%j (missing or relative) → /backup', (p) => {
    expect(safeCallbackUrl(p)).toBe('/backup');
  });

  it.each([
    'https://evil.example/',
    'http://evil.example',
    'javascript:alert(1)',
    'data:text/html,hi',
    '//evil.example',
    '//evil.example/backup',
    '/\\evil.example',
    '/\\/evil.example',
    // Browsers drop tab, CR and LF anywhere in a URL: these become //evil.example.
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/\t\\evil.example',
  ])('%j (another site) → /backup', (p) => {
    expect(safeCallbackUrl(p)).toBe('/backup');
  });

  it.each(['/login', '/login?callbackUrl=/users', '/login/', '/loginx'])('%j (sign-in loop) → /backup', (p) => {
    expect(safeCallbackUrl(p)).toBe('/backup');
  });

  it('whatever it returns, a browser resolves it on the console\u2019s own origin', () => {
    const hostile = ['/\t/evil.example', '//evil.example', '/\\evil.example', '/%2F%2Fevil.example', '/ /evil.example', '/.//evil.example', '/\u0000/evil.example'];
    for (const raw of hostile) {
      expect(new URL(safeCallbackUrl(raw), BASE).origin).toBe(BASE);
    }
  });
});
