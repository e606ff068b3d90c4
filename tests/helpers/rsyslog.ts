import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './console-server';
import { makeTestCertificate, type TestCertificate } from './test-certificate';

/**
 * A real syslog server for tests: Debian's rsyslogd in the foreground
 * (`rsyslogd -n -f CONFIG -i PIDFILE`) with its own config, work folder and
 * pid file in a temp folder; /etc/rsyslog.conf is not read and /dev/log is
 * not touched (no imuxsock, no imklog). It listens on 127.0.0.1 on three
 * free ports: UDP (imudp), TCP (imtcp, octet-counted or LF framing) and TLS
 * (imtcp with the gtls stream driver, package rsyslog-gnutls; anonymous
 * clients, a self-signed server certificate). Everything it receives is
 * written to one file in the RFC 5424 form (RSYSLOG_SyslogProtocol23Format).
 */
export type RsyslogServer = {
  udpPort: number;
  tcpPort: number;
  tlsPort: number;
  cert: TestCertificate;
  logFile: string;
  lines(): string[];
  /** Resolves with the lines once one matches. */
  waitFor(match: RegExp, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
};

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`rsyslogd did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function startRsyslog(): Promise<RsyslogServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-rsyslog-'));
  const cert = makeTestCertificate('webconf-test-syslog');
  const [udpPort, tcpPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const logFile = path.join(dir, 'received.log');
  const work = path.join(dir, 'work');
  fs.mkdirSync(work);
  const conf = `
global(workDirectory="${work}"
       defaultNetstreamDriverCAFile="${cert.certFile}"
       defaultNetstreamDriverCertFile="${cert.certFile}"
       defaultNetstreamDriverKeyFile="${cert.keyFile}")
module(load="imudp")
module(load="imtcp" maxSessions="50")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
action(type="omfile" file="${logFile}" template="RSYSLOG_SyslogProtocol23Format")
`;
  const confFile = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(confFile, conf);
  const child: ChildProcess = spawn('/usr/sbin/rsyslogd', ['-n', '-f', confFile, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    cert.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([waitForPort(tcpPort, 15_000), waitForPort(tlsPort, 15_000)]);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${output}`);
  }
  const lines = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
  return {
    udpPort,
    tcpPort,
    tlsPort,
    cert,
    logFile,
    lines,
    waitFor(match, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines();
          if (l.some((x) => match.test(x))) resolve(l);
          else if (Date.now() > until) reject(new Error(`no syslog line matched ${match}; got:\n${l.join('\n')}`));
          else setTimeout(check, 100);
        };
        check();
      });
    },
    stop,
  };
}
