/**
 * An 'error' listener for a child's stdin pipe. A child that exits before it
 * has read all its input closes the pipe, and the pending write fails with
 * EPIPE (or ECONNRESET). Unhandled, that error crashes the test run; it is not
 * a failure of the test itself, whose assertions read the child's exit code and
 * output. Any other error is rethrown.
 */
export function ignoreEpipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
  throw err;
}
