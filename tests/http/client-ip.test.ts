import { describe, expect, it } from 'vitest';
import { clientIp } from '@/lib/http/client-ip';

describe('clientIp', () => {
  it('takes the first x-forwarded-for entry (set by the console\u2019s own server)', () => {
    expect(clientIp(new Headers({ 'x-forwarded-for': '192.0.2.5' }))).toBe('192.0.2.5');
    expect(clientIp(new Headers({ 'x-forwarded-for': ' 192.0.2.5 , 10.0.0.1' }))).toBe('192.0.2.5');
    expect(clientIp(new Headers({ 'x-forwarded-for': '::1' }))).toBe('::1');
  });

  it('without one, or with an empty one: unknown', () => {
    expect(clientIp(new Headers())).toBe('unknown');
    expect(clientIp(new Headers({ 'x-forwarded-for': '' }))).toBe('unknown');
    expect(clientIp(new Headers({ 'x-forwarded-for': ' , 10.0.0.1' }))).toBe('unknown');
  });

  it('ignores other client-chosen headers', () => {
    expect(clientIp(new Headers({ 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6' }))).toBe('unknown');
  });
});
