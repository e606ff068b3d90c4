/**
 * The one error type the domain throws for things a user can act on. Its
 * message is written for the user; `field` ties it to a form field. Anything
 * else that escapes is a fault and reaches users only as a generic message.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  too_many_requests: 429,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  constructor(code: ErrorCode, message: string, opts: { field?: string } = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.field = opts.field;
  }
}

export const GENERIC_FAILURE = 'Something went wrong on the appliance. The event was logged; try again or contact support.';
