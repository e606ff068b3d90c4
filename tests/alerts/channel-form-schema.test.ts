import { describe, expect, it } from 'vitest';
import { channelFormSchema } from '@/lib/alerts/schemas';

// The Alerts page's flat form turned into a channel input (lib/alerts/schemas.ts).
describe('channelFormSchema', () => {
  const email = { kind: 'email', name: 'Ops', host: 'smtp.example.net', port: '587', username: 'u', from: 'a@example.net', to: 'b@example.net' };

  it('sends no enabled state when the form has none (an edit keeps it), and false for "off"', () => {
    expect(channelFormSchema.parse(email).input.enabled).toBeUndefined();
    expect(channelFormSchema.parse({ ...email, enabled: 'off' }).input.enabled).toBe(false);
    expect(channelFormSchema.parse({ ...email, enabled: 'on' }).input.enabled).toBe(true);
  });

  it('turns an empty secret into none (an edit keeps the stored one) and never gives syslog a secret', () => {
    expect(channelFormSchema.parse({ ...email, secret: '' }).input.secret).toBeUndefined();
    expect(channelFormSchema.parse({ ...email, secret: 'pw' }).input.secret).toBe('pw');
    expect(channelFormSchema.parse({ kind: 'syslog', name: 'S', host: 'h', port: '514', transport: 'udp', secret: 'x' }).input.secret).toBeUndefined();
  });

  it('reads an edit id and ignores an empty one', () => {
    expect(channelFormSchema.parse({ ...email, id: '7' }).id).toBe(7);
    expect(channelFormSchema.parse({ ...email, id: '' }).id).toBeUndefined();
    expect(channelFormSchema.safeParse({ ...email, id: 'x' }).success).toBe(false);
  });
});
