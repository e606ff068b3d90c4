import { z } from 'zod';
import { fieldErrorsOf } from '@/lib/auth/validated-action';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, listChannels, removeChannel, sendTest, updateChannel } from '@/lib/alerts/channels';
import { databaseFile, db } from '@/lib/db/client';
import { freePort } from '../helpers/console-server';
import { startRsyslog, type RsyslogServer } from '../helpers/rsyslog';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';
import { makeTestCertificate, type TestCertificate } from '../helpers/test-certificate';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

const admin = { id: 1, name: 'admin', ip: '127.0.0.1' };
const HOOK_SECRET = 'webhook-signing-secret-0123456789';
let smtp: TestSmtpServer;
let syslog: RsyslogServer;
let hook: WebhookReceiver;
let stranger: TestCertificate;

beforeAll(async () => {
  [smtp, syslog, hook] = await Promise.all([startSmtpServer(), startRsyslog(), startWebhookReceiver(HOOK_SECRET)]);
  stranger = makeTestCertificate('someone-else');
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([smtp?.stop(), syslog?.stop(), hook?.stop()]);
  stranger?.remove();
});

function emailInput(name: string, over: Record<string, unknown> = {}, secret = smtp.password) {
  return {
    kind: 'email',
    name,
    enabled: true,
    secret,
    config: { host: '127.0.0.1', port: smtp.port, username: smtp.user, from: 'webconf@example.test', to: 'ops@example.test, oncall@example.test', trustedCa: smtp.cert.certPem, ...over },
  };
}

describe('e-mail channel against a real SMTP server (STARTTLS, AUTH LOGIN)', () => {
  it('delivers a test message over STARTTLS after logging in', async () => {
    const c = createChannel(admin, emailInput('Mail ops'));
    const r = await sendTest(admin, c.id);
    expect(r).toEqual({ ok: true, message: 'Test message delivered.' });
    const [mail] = await smtp.waitFor(1);
    expect(mail!.secure).toBe(true);
    expect(mail!.user).toBe(smtp.user);
    expect(mail!.to).toEqual(['ops@example.test', 'oncall@example.test']);
    expect(mail!.raw).toMatch(/Subject: \[Webconf [^\]]+\] TEST: Test alert from Webconf/);
    expect(mail!.raw).toContain('pressed Send test on the channel "Mail ops"');
    expect(mail!.raw).not.toContain(smtp.password);
    const view = listChannels().find((x) => x.id === c.id)!;
    expect(view.lastDeliveredAt).not.toBeNull();
    expect(view.state).toBe('ok');
  });

  it('says why a test fails: wrong password, refused connection, untrusted certificate', async () => {
    const wrong = createChannel(admin, emailInput('Mail wrong password', {}, 'not-the-password'));
    expect(await sendTest(admin, wrong.id)).toEqual({ ok: false, message: expect.stringMatching(new RegExp(`^The SMTP server 127\\.0\\.0\\.1:${smtp.port} refused the login of ${smtp.user}: wrong user name or password`)) });

    const closed = await freePort();
    const refused = createChannel(admin, emailInput('Mail nobody there', { port: closed }));
    expect((await sendTest(admin, refused.id)).message).toBe(`Could not connect to 127.0.0.1:${closed}: connection refused.`);

    const untrusted = createChannel(admin, emailInput('Mail untrusted', { trustedCa: '' }));
    expect((await sendTest(admin, untrusted.id)).message).toMatch(/^The TLS connection to 127\.0\.0\.1:\d+ was refused: its TLS certificate is self-signed and not trusted/);
    const other = createChannel(admin, emailInput('Mail other CA', { trustedCa: stranger.certPem }));
    expect((await sendTest(admin, other.id)).message).toMatch(/^The TLS connection to 127\.0\.0\.1:\d+ was refused: its TLS certificate is self-signed and not trusted/);
    // Nothing arrived from any of them; the failures are the channels' last errors.
    expect(smtp.messages).toHaveLength(1);
    const views = listChannels();
    expect(views.find((v) => v.id === refused.id)!.lastError).toBe(`Could not connect to 127.0.0.1:${closed}: connection refused.`);
    for (const c of [wrong, refused, untrusted, other]) removeChannel(admin, c.id);
  });

  it('refuses bad input field by field and changes nothing', () => {
    const before = listChannels().length;
    expect(() => createChannel(admin, emailInput('Bad host', { host: 'smtp://x' }))).toThrow(/host name or an IP address/);
    expect(() => createChannel(admin, emailInput('Bad port', { port: 70000 }))).toThrow(/port from 1 to 65535/);
    expect(() => createChannel(admin, emailInput('Bad to', { to: 'not-an-address' }))).toThrow(/e-mail address/);
    expect(() => createChannel(admin, emailInput('Bad CA', { trustedCa: 'hello' }))).toThrow(/PEM/);
    expect(() => createChannel(admin, emailInput('No password', {}, ''))).toThrow(/Enter the SMTP password/);
    expect(() => createChannel(admin, emailInput('Mail ops'))).toThrow(/Another alert channel has this name/);
    expect(listChannels()).toHaveLength(before);
  });

  it('tells every problem at once, each at the form field it belongs to (a bad recipient at "to", not at a list index)', () => {
    let caught: unknown;
    try {
      createChannel(admin, emailInput('', { host: 'smtp://x', port: 70000, to: 'ops@example.test, not-an-address' }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(z.ZodError);
    const fields = fieldErrorsOf(caught as z.ZodError);
    expect(Object.keys(fields).sort()).toEqual(['host', 'name', 'port', 'to']);
    expect(fields.to![0]).toMatch(/e-mail address/);
  });
});

describe('webhook channel against a receiver that checks the HMAC', () => {
  it('delivers a signed JSON POST; a wrong secret or a failing receiver is said in words', async () => {
    const c = createChannel(admin, { kind: 'webhook', name: 'Hook', enabled: true, secret: HOOK_SECRET, config: { url: hook.url } });
    expect(await sendTest(admin, c.id)).toEqual({ ok: true, message: 'Test message delivered.' });
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]).toMatchObject({ type: 'webconf.alert', kind: 'test', what: expect.stringMatching(/^Test alert from Webconf/) });

    const wrong = createChannel(admin, { kind: 'webhook', name: 'Hook wrong secret', enabled: true, secret: 'another-secret-0123456789', config: { url: hook.url } });
    expect((await sendTest(admin, wrong.id)).message).toBe(`The webhook ${new URL(hook.url).origin}/hooks/webconf answered HTTP 401 (the receiver refused the signature or the request).`);
    expect(hook.refused).toBe(1);
    hook.failWith = 500;
    try {
      expect((await sendTest(admin, c.id)).message).toMatch(/answered HTTP 500 \(an error on the receiver\)\.$/);
    } finally {
      hook.failWith = null;
    }
    expect(() => createChannel(admin, { kind: 'webhook', name: 'Short', secret: 'short', config: { url: hook.url } })).toThrow(/at least 16 characters/);
    removeChannel(admin, wrong.id);
  });
});

describe('syslog channel against rsyslogd (RFC 5424 over UDP, TCP and TLS)', () => {
  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    it(`delivers over ${transport.toUpperCase()}`, async () => {
      const port = transport === 'udp' ? syslog.udpPort : transport === 'tcp' ? syslog.tcpPort : syslog.tlsPort;
      const name = `Syslog ${transport} channel`;
      const c = createChannel(admin, { kind: 'syslog', name, enabled: true, config: { host: '127.0.0.1', port, transport, trustedCa: transport === 'tls' ? syslog.cert.certPem : '' } });
      expect((await sendTest(admin, c.id)).ok).toBe(true);
      const lines = await syslog.waitFor(new RegExp(`channel "${name}"`));
      const line = lines.find((l) => l.includes(`channel "${name}"`))!;
      // rsyslog's RFC 5424 rendering: <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG; daemon.info = 3*8+6 = 30.
      expect(line).toMatch(/^<30>1 \d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) \S+ webconf \d+ alert-test \[webconf@32473 kind="test" condition="" where="appliance [^"]+"\] /);
      expect(line).toContain('What to do: Nothing');
    });
  }

  it('refuses a TLS server whose certificate it does not trust, and says so', async () => {
    const c = createChannel(admin, { kind: 'syslog', name: 'Syslog untrusted', enabled: true, config: { host: '127.0.0.1', port: syslog.tlsPort, transport: 'tls' } });
    expect((await sendTest(admin, c.id)).message).toMatch(new RegExp(`^The TLS connection to 127\\.0\\.0\\.1:${syslog.tlsPort} was refused: its TLS certificate`));
    const closed = await freePort();
    const t = createChannel(admin, { kind: 'syslog', name: 'Syslog closed', enabled: true, config: { host: '127.0.0.1', port: closed, transport: 'tcp' } });
    expect((await sendTest(admin, t.id)).message).toBe(`Could not connect to 127.0.0.1:${closed}: connection refused.`);
  });
});

describe('secrets', () => {
  it('are in no view and not in the database file in clear; an edit without a secret keeps it', async () => {
    const views = JSON.stringify(listChannels());
    expect(views).not.toContain(smtp.password);
    expect(views).not.toContain(HOOK_SECRET);
    expect(views).not.toMatch(/secretSealed|secret_sealed/);
    const mail = listChannels().find((v) => v.name === 'Mail ops')!;
    expect(mail.secretSet).toBe(true);
    updateChannel(admin, mail.id, { ...emailInput('Mail ops'), secret: '' });
    expect((await sendTest(admin, mail.id)).ok).toBe(true);
    db().$client.pragma('wal_checkpoint(TRUNCATE)');
    for (const f of [databaseFile(), `${databaseFile()}-wal`]) {
      if (!fs.existsSync(f)) continue;
      const bytes = fs.readFileSync(f);
      expect(bytes.includes(Buffer.from(smtp.password))).toBe(false);
      expect(bytes.includes(Buffer.from(HOOK_SECRET))).toBe(false);
    }
  });
});

describe('editing a channel', () => {
  it('changes its settings, keeps the secret when none is given, takes a new one, and keeps its enabled state when the edit says nothing of it', async () => {
    const c = createChannel(admin, emailInput('Mail edit', {}, 'not-the-password'));
    expect((await sendTest(admin, c.id)).ok).toBe(false);
    // The right password fixes it; the recipients change with it.
    const fixed = updateChannel(admin, c.id, emailInput('Mail edit', { to: 'night@example.test' }));
    expect(fixed.config.to).toEqual(['night@example.test']);
    expect((await sendTest(admin, c.id)).ok).toBe(true);
    // Disabled, then edited without `enabled` and without a secret: still disabled, still delivering.
    const { setChannelEnabled } = await import('@/lib/alerts/channels');
    setChannelEnabled(admin, c.id, false);
    const { enabled: _e, secret: _s, ...noState } = emailInput('Mail edit renamed');
    const renamed = updateChannel(admin, c.id, noState);
    expect(renamed).toMatchObject({ name: 'Mail edit renamed', enabled: false, secretSet: true });
    expect((await sendTest(admin, c.id)).ok).toBe(true);
  });

  it('refuses bad input, a change of kind and a taken name, and changes nothing', () => {
    const c = createChannel(admin, emailInput('Mail stay'));
    const before = JSON.stringify(listChannels().find((x) => x.id === c.id));
    const fieldsOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof z.ZodError ? fieldErrorsOf(err) : { message: (err as Error).message };
      }
      return null;
    };
    expect(fieldsOf(() => updateChannel(admin, c.id, emailInput('Mail stay', { host: 'smtp://x', port: 0, to: 'not-an-address' })))).toEqual({
      host: ['Enter a host name or an IP address, without a scheme or a port.'],
      port: ['Enter a port from 1 to 65535.'],
      to: ['Enter an e-mail address such as backups@example.net.'],
    });
    expect(fieldsOf(() => updateChannel(admin, c.id, { kind: 'webhook', name: 'Mail stay', config: { url: 'http://127.0.0.1:9/' } }))).toEqual({
      message: 'The kind of a channel cannot change; add a new channel instead.',
    });
    expect(fieldsOf(() => updateChannel(admin, c.id, emailInput('Mail ops')))).toEqual({ message: 'Another alert channel has this name; choose another.' });
    expect(fieldsOf(() => updateChannel(admin, 999_999, emailInput('Mail stay')))).toEqual({ message: 'No such alert channel (it may have been removed).' });
    expect(JSON.stringify(listChannels().find((x) => x.id === c.id))).toBe(before);
  });
});
