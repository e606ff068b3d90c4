import { describe, expect, it } from 'vitest';
import { s3ConfigSchema } from '@/lib/s3/schemas';

const base = {
  endpoint: 'https://s3.example.net',
  bucket: 'webconf-backups',
  accessKeyId: 'AKIAEXAMPLE123',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

function problems(input: Record<string, unknown>): Record<string, string> {
  const r = s3ConfigSchema.safeParse(input);
  if (r.success) return {};
  // The first message of each field: the one a form shows.
  const out: Record<string, string> = {};
  for (const i of r.error.issues) out[i.path.join('.')] ??= i.message;
  return out;
}

describe('s3ConfigSchema', () => {
  it('fills in the region, folder and timeouts, and keeps the endpoint as its origin', () => {
    const c = s3ConfigSchema.parse({ ...base, endpoint: ' https://S3.Example.net:8443/ ', folder: '/fleet/configs/' });
    expect(c).toEqual({
      ...base,
      endpoint: 'https://s3.example.net:8443',
      region: 'us-east-1',
      folder: 'fleet/configs',
      connectTimeoutMs: 5000,
      idleTimeoutMs: 30000,
    });
    expect(s3ConfigSchema.parse(base).folder).toBe('');
    expect(s3ConfigSchema.parse({ ...base, endpoint: 'http://127.0.0.1:7480' }).endpoint).toBe('http://127.0.0.1:7480');
  });

  it('refuses endpoints that are not just the address of a gateway', () => {
    expect(problems({ ...base, endpoint: '' }).endpoint).toMatch(/Enter the S3 endpoint/);
    expect(problems({ ...base, endpoint: 's3.example.net' }).endpoint).toMatch(/not a URL/);
    expect(problems({ ...base, endpoint: 'ftp://s3.example.net' }).endpoint).toMatch(/https:\/\/ or http:\/\//);
    expect(problems({ ...base, endpoint: 'https://key:secret@s3.example.net' }).endpoint).toMatch(/cannot contain a user name or password/);
    expect(problems({ ...base, endpoint: 'https://s3.example.net/bucket' }).endpoint).toMatch(/without a path/);
    expect(problems({ ...base, endpoint: 'https://s3.example.net/?x=1' }).endpoint).toMatch(/without a path/);
  });

  it('checks bucket names as S3 does', () => {
    for (const b of ['ab', 'a'.repeat(64), '-bucket', 'bucket-', 'buck et', 'a..b', '192.168.1.1', 'bück']) {
      expect(problems({ ...base, bucket: b }).bucket, b).toBeTruthy();
    }
    for (const b of ['abc', 'my.bucket-01', 'Legacy_Bucket', 'a'.repeat(63)]) expect(problems({ ...base, bucket: b }), b).toEqual({});
  });

  it('refuses folders with "." or ".." parts or control characters', () => {
    expect(problems({ ...base, folder: 'a/../b' }).folder).toMatch(/"\." or "\.\."/);
    expect(problems({ ...base, folder: 'a//b' }).folder).toMatch(/"\/\/"/);
    expect(problems({ ...base, folder: 'a\tb' }).folder).toMatch(/control characters/);
  });

  it('wants both keys, printable and without spaces; the secret is not trimmed', () => {
    expect(problems({ ...base, accessKeyId: ' ' }).accessKeyId).toMatch(/Enter the access key/);
    expect(problems({ ...base, secretAccessKey: '' }).secretAccessKey).toMatch(/Enter the secret key/);
    expect(problems({ ...base, secretAccessKey: ' secret ' }).secretAccessKey).toMatch(/without spaces/);
    expect(problems({ ...base, region: 'us east' }).region).toMatch(/letters, digits and "-"/);
  });
});
