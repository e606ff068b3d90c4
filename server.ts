/**
 * The console's server: HTTPS for everyone, and plain HTTP only on loopback
 * (development and tests). Start-up work happens here, once, before the first
 * request: environment check, database migrations, the OTP user at first
 * start, the TLS certificate.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import next from 'next';
import { ensureOtpUser, otpPasswordFile } from './lib/accounts/accounts';
import { authSecret } from './lib/auth/secret';
import { pruneSessions } from './lib/auth/sessions';
import { ensureApplianceFolders } from './lib/backup/appliance';
import { abortRunningBackups } from './lib/backup/engine';
import { recoverInterruptedBackups } from './lib/backup/recovery';
import { startAlertDeliverer } from './lib/alerts/deliverer';
import { startScheduler } from './lib/backup/scheduler';
import { recoverInterruptedFleetRuns } from './lib/fleet/recovery';
import { abortFleetRuns } from './lib/fleet/run';
import { startFleetScheduler } from './lib/fleet/scheduler';
import { db } from './lib/db/client';
import { announceConsole, withdrawConsole } from './lib/restore/console-lock';
import { recoverInterruptedRestore } from './lib/restore/recovery';
import { certificateNames, dataDir, env } from './lib/env';
import { log } from './lib/log';
import { loadOrCreateCertificate } from './lib/tls/certificate';
import { recoverInterruptedVerifications } from './lib/verify/recovery';
import { abortRunningVerifications } from './lib/verify/registry';
import { startVerifyScheduler } from './lib/verify/scheduler';

async function main() {
  const dev = process.argv.includes('--dev');
  let e;
  try {
    e = env();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  fs.mkdirSync(dataDir(), { recursive: true, mode: 0o700 });
  // A restore the last process did not finish is settled before anything opens the database.
  const restored = recoverInterruptedRestore();
  if (restored) process.stdout.write(`\n${restored.message}\n\n`);
  db();
  announceConsole();
  process.on('exit', withdrawConsole);
  pruneSessions();
  ensureApplianceFolders();
  const interrupted = await recoverInterruptedBackups();
  if (interrupted) log.warn({ event: 'backup.recovered', runs: interrupted }, 'marked interrupted backups and removed their partial files');
  // Device backup runs a killed process left running: cancelled with the reason (their uploads are swept at the next run).
  const fleetRuns = recoverInterruptedFleetRuns();
  if (fleetRuns) log.warn({ event: 'fleet.recovered', runs: fleetRuns }, 'marked interrupted device backup runs');
  // Verifications a killed process left running, and the database copies (plaintext) it left in the data folder.
  const verifications = recoverInterruptedVerifications();
  if (verifications.verifications || verifications.copiesRemoved) {
    log.warn({ event: 'verify.recovered', ...verifications }, 'marked interrupted verifications and removed their database copies');
  }

  const httpsOn = e.WEBCONF_HTTPS === 'on';
  if (!httpsOn && !e.WEBCONF_HTTP_PORT) {
    process.stderr.write('WEBCONF_HTTPS=off needs WEBCONF_HTTP_PORT (plain HTTP on loopback).\n');
    process.exit(2);
  }
  process.env.NEXTAUTH_SECRET ||= authSecret();
  if (!process.env.NEXTAUTH_URL) {
    process.env.NEXTAUTH_URL = httpsOn
      ? `https://${certificateNames()[0]}:${e.WEBCONF_HTTPS_PORT}`
      : `http://127.0.0.1:${e.WEBCONF_HTTP_PORT}`;
  }

  const otp = await ensureOtpUser();
  if (otp) {
    // Printed once, on purpose: the only way in on a new appliance.
    process.stdout.write(
      [
        '',
        '================================================================',
        ' Webconf first start: the OTP User was created.',
        ` Username: otp`,
        ` One-time password: ${otp}`,
        ` (also in ${otpPasswordFile()}, readable by root only)`,
        ' Sign in, create an OAuth admin user, then remove the OTP User.',
        '================================================================',
        '',
      ].join('\n'),
    );
  }

  const app = next({ dev, dir: path.resolve(__dirname) });
  await app.prepare();
  const handle = app.getRequestHandler();

  // The client's address comes from the socket, never from the request.
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? 'unknown';
    delete req.headers['x-forwarded-host'];
    delete req.headers['x-forwarded-proto'];
    void handle(req, res);
  };

  const servers: http.Server[] = [];
  if (httpsOn) {
    const material = await loadOrCreateCertificate(dataDir(), certificateNames(), {
      certFile: process.env.WEBCONF_TLS_CERT,
      keyFile: process.env.WEBCONF_TLS_KEY,
    });
    const s = https.createServer({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }, serve);
    await new Promise<void>((resolve) => s.listen(e.WEBCONF_HTTPS_PORT, e.WEBCONF_BIND, resolve));
    servers.push(s);
    log.info(
      { event: 'server.listen', protocol: 'https', port: e.WEBCONF_HTTPS_PORT, selfSigned: material.selfSigned, fingerprint: material.fingerprint, names: material.names },
      'serving HTTPS',
    );
  }
  if (e.WEBCONF_HTTP_PORT) {
    const s = http.createServer(serve);
    await new Promise<void>((resolve) => s.listen(e.WEBCONF_HTTP_PORT, '127.0.0.1', resolve));
    servers.push(s);
    log.info({ event: 'server.listen', protocol: 'http', address: '127.0.0.1', port: e.WEBCONF_HTTP_PORT }, 'serving plain HTTP on loopback');
  }
  const stopScheduler = startScheduler();
  // Alerts queued by the domain (lib/alerts) are sent from here, never from a backup.
  const stopAlertDeliverer = startAlertDeliverer();
  const stopVerifyScheduler = startVerifyScheduler();
  const stopFleetScheduler = startFleetScheduler();
  log.info({ event: 'server.ready', url: process.env.NEXTAUTH_URL }, 'Webconf is ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'server.stop', signal }, 'shutting down');
    stopScheduler();
    stopAlertDeliverer();
    stopVerifyScheduler();
    stopFleetScheduler();
    for (const s of servers) s.close();
    setTimeout(() => process.exit(0), 10_000).unref();
    // A running backup is aborted cleanly: partial file removed, the run recorded as aborted with the reason.
    await Promise.all([
      abortRunningBackups('The console was shut down during the backup. Start it again once the console is back.'),
      // A running verification stops and says so (no verdict on the file); its database copy is removed.
      abortRunningVerifications('The console was shut down during the verification; it did not finish.'),
      // A running device backup run stops; its devices not done are cancelled with the reason.
      abortFleetRuns('The console was shut down during the run. Start it again once the console is back.'),
    ]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  log.fatal({ event: 'server.fatal', err: (err as Error).message }, 'Webconf could not start');
  process.exit(1);
});
