/**
 * A delivery that did not happen, in words for the admin ("Could not connect
 * to smtp.example.net:587: connection refused"). Senders turn the network,
 * TLS and protocol errors they meet into this; the words are shown at the
 * channel and kept as its last error. They never contain the secret.
 */
export class AlertSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlertSendError';
  }
}

const NET_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset by the server',
  ETIMEDOUT: 'no answer (timed out)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'no such host name',
  EAI_AGAIN: 'the host name could not be resolved (DNS)',
  EPIPE: 'the server closed the connection',
};

const TLS_WORDS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted (paste it or its CA under "Trusted certificate")',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain ends in an untrusted self-signed CA (paste that CA under "Trusted certificate")',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate is not signed by a trusted CA',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another name',
  CERT_NOT_YET_VALID: 'its TLS certificate is not valid yet',
};

function findCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 3) return undefined;
  const e = err as { code?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (NET_WORDS[code] || TLS_WORDS[code])) return code;
  return findCode(e.cause, depth + 1) ?? code;
}

/** Words for a connection-level failure to `host:port`, or null when the error is not one. */
export function connectionWords(err: unknown, host: string, port: number): string | null {
  const code = findCode(err);
  const msg = (err as Error)?.message ?? '';
  if (code && TLS_WORDS[code]) return `The TLS connection to ${host}:${port} was refused: ${TLS_WORDS[code]}.`;
  if (/self[- ]signed certificate/i.test(msg)) return `The TLS connection to ${host}:${port} was refused: ${TLS_WORDS.DEPTH_ZERO_SELF_SIGNED_CERT}.`;
  if (/unable to verify|certificate/i.test(msg)) return `The TLS connection to ${host}:${port} was refused: its certificate could not be verified (${msg.slice(0, 160)}).`;
  if (code && NET_WORDS[code]) return `Could not connect to ${host}:${port}: ${NET_WORDS[code]}.`;
  if (/timed? ?out|timeout/i.test(msg)) return `Could not connect to ${host}:${port}: no answer (timed out).`;
  const m = /\b(E[A-Z]{3,})\b/.exec(msg);
  if (m && NET_WORDS[m[1]!]) return `Could not connect to ${host}:${port}: ${NET_WORDS[m[1]!]}.`;
  return null;
}
