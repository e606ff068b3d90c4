/** What `webconf` exits with; scripts rely on these (the usage text and the README say the same). */
export const EXIT = {
  ok: 0,
  /** The console refused the request or the work failed (a run with a failed device, say). */
  failed: 1,
  /** The command line itself is wrong: nothing was sent. */
  usage: 2,
  /** The token was refused (revoked, unknown: 401) or its role may not do this (403). */
  notAuthorised: 3,
  /** The console could not be reached (refused, no answer in time, not the console). */
  unreachable: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: (typeof EXIT)[keyof typeof EXIT],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
