import type { GrowableBuffer } from '../memory/buffer-pool';
import { remoteText } from '../ssh/errors';
import { DeviceError } from './errors';
import type { DeviceSession } from './session';

/**
 * One command over an SSH exec channel (RFC 4254 §6.5): stdout collected in
 * memory up to a limit, the last bytes of stderr kept for the message, and
 * how the command ended ("exit-status" N, or "exit-signal" NAME; a server may
 * also close the channel with neither). SSH delivers a channel's data in
 * order and before the exit status, so an exit status means the output is
 * complete; a connection that drops before it means the output was cut.
 *
 * Any failure destroys the session: a command that overran its time or its
 * output limit is not left running on a connection that is reused.
 */

export type CommandOptions = {
  /** From the exec request to the channel's close. */
  timeoutMs: number;
  /** More stdout than this fails the command (output_too_large). */
  maxBytes: number;
  /**
   * Where stdout is collected (emptied first); the result's stdout is then a
   * view of it, valid until it is written again or released. Without it,
   * stdout is a Buffer of its own.
   */
  output?: GrowableBuffer;
};

export type CommandResult = {
  stdout: Buffer;
  /** The exit status, or null when the command ended by a signal or the device reported none. */
  exitStatus: number | null;
  /** The signal that ended the command ("SIGTERM"), when it was one. */
  signal?: string;
  /** The last bytes of stderr (at most STDERR_TAIL). */
  stderrTail: Buffer;
};

const STDERR_TAIL = 4096;
const EMPTY = Buffer.alloc(0);

export function runCommand(session: DeviceSession, command: string, opts: CommandOptions): Promise<CommandResult> {
  const quoted = `"${remoteText(command, 120)}"`;
  const w = session.where;
  return new Promise<CommandResult>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const output = opts.output;
    const append = output?.writer();
    let bytes = 0;
    let stderrTail = Buffer.alloc(0);
    let exit: { code: number | null; signal?: string } | null = null;
    let eof = false;
    let lostBeforeEnd = false;
    let settled = false;

    const cleanup = () => {
      clearTimeout(timer);
      session.client.removeListener('close', onConnectionClose);
    };
    const fail = (err: DeviceError) => {
      if (settled) return;
      settled = true;
      cleanup();
      session.destroy();
      reject(err);
    };
    const succeed = () => {
      if (settled) return;
      settled = true;
      cleanup();
      // An empty append answers whether the buffer is still this command's.
      if (append && !append(EMPTY)) return reject(new DeviceError('ssh_failed', `The output of ${quoted} on ${w} was given up on.`));
      const stdout = output ? output.bytes() : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
      resolve({ stdout, exitStatus: exit?.code ?? null, signal: exit?.signal, stderrTail });
    };
    const lost = () => {
      const why = session.failureCause();
      const said = why ? ` (${why.replace(/\.$/, '')})` : '';
      return new DeviceError(
        'connection_lost',
        bytes > 0
          ? `The connection to ${w} closed in the middle of the output of ${quoted}, after ${bytes} bytes${said}; nothing was kept.`
          : `The connection to ${w} closed before ${quoted} printed anything${said}; nothing was kept.`,
        { details: { bytes } },
      );
    };

    const timer = setTimeout(() => {
      fail(
        new DeviceError(
          'command_timed_out',
          `${quoted} on ${w} did not finish within ${formatSeconds(opts.timeoutMs)} (${bytes} bytes of output so far); the session was closed.`,
          { details: { bytes } },
        ),
      );
    }, opts.timeoutMs);

    // The connection went away: the output is whole only if the command had ended (or the device had ended its output).
    const onConnectionClose = () => {
      if (!exit && !eof) lostBeforeEnd = true;
    };
    session.client.on('close', onConnectionClose);

    // ssh2 throws at once ("Not connected") when the connection went away before the request: the same as a close.
    const exec = (cb: Parameters<typeof session.client.exec>[1]) => {
      try {
        session.client.exec(command, cb);
      } catch {
        fail(lost());
      }
    };
    exec((err, channel) => {
      if (settled) {
        channel?.close();
        return;
      }
      if (err) {
        if (session.closed()) return fail(lost());
        return fail(new DeviceError('ssh_failed', `${w} refused to run ${quoted}: ${remoteText(err.message)}.`));
      }
      channel.on('data', (d: Buffer) => {
        if (settled) return;
        bytes += d.length;
        if (bytes > opts.maxBytes) {
          return fail(
            new DeviceError('output_too_large', `The output of ${quoted} on ${w} is larger than the limit of ${opts.maxBytes} bytes; the session was closed and nothing was kept.`, {
              details: { bytes },
            }),
          );
        }
        // Copied at once into the caller's buffer: ssh2's chunk is then garbage before it can age.
        if (append) {
          if (!append(d)) return fail(new DeviceError('ssh_failed', `The output of ${quoted} on ${w} was given up on.`));
        } else chunks.push(d);
      });
      channel.stderr.on('data', (d: Buffer) => {
        const joined = Buffer.concat([stderrTail, d]);
        stderrTail = joined.length <= STDERR_TAIL ? joined : Buffer.from(joined.subarray(-STDERR_TAIL));
      });
      channel.on('end', () => {
        if (!session.closed()) eof = true;
      });
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = typeof code === 'number' ? { code } : { code: null, signal: signal ?? undefined };
      });
      channel.on('close', () => {
        // ssh2 closes the channels after it reported the connection's close: decide once both are known.
        setImmediate(() => {
          if (settled) return;
          if (exit) return succeed();
          if (lostBeforeEnd) return fail(lost());
          // The device closed the channel without an exit status; the caller decides whether its model allows that.
          succeed();
        });
      });
    });
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
