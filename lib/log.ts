import pino from 'pino';
import { envSchema } from './env';

/**
 * Structured log: one JSON line per event on stdout. Anything that could hold
 * a secret is redacted by path, as a second line of defence: callers never
 * pass secrets in the first place.
 */
export const log = pino({
  // Parsed on its own so that a bad variable elsewhere is reported by env(), not by a crash here.
  level: envSchema.shape.WEBCONF_LOG_LEVEL.catch('info').parse(process.env.WEBCONF_LOG_LEVEL),
  base: { service: 'webconf' },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: [
      'password', '*.password', 'secret', '*.secret', 'clientSecret', '*.clientSecret',
      'dms', '*.dms', 'token', '*.token', 'cookie', '*.cookie', 'headers.cookie', 'authorization',
    ],
    censor: '[redacted]',
  },
});
