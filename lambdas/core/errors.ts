/**
 * Errors the workflows act on. Each class sets `name`, which is what Step Functions sees as the
 * error name: Retry and Catch rules in the state machines match on these names.
 */
export const ERROR_NAMES = {
  /** Throttling or a temporary outage of S3, Firehose or the Data API: retried with backoff. */
  transient: 'TransientError',
  /** A warehouse statement failed; carries Redshift's message. Not retried as such. */
  statementFailed: 'StatementFailedError',
  /** A concurrent transaction conflicted (Redshift serializable isolation): the table load is retried. */
  serializationConflict: 'SerializationConflictError',
  /** Rows in the warehouse do not match what the transform counted. */
  verificationFailed: 'VerificationFailedError',
  /** A workflow input that cannot run; the message says what to change. */
  invalidInput: 'InvalidInputError',
} as const;

export type ErrorName = (typeof ERROR_NAMES)[keyof typeof ERROR_NAMES];

/** Base class: every error of this project has a stable name and optional context. */
export abstract class ClickstreamError extends Error {
  abstract override readonly name: ErrorName;
  constructor(
    message: string,
    public readonly context: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class TransientError extends ClickstreamError {
  readonly name = ERROR_NAMES.transient;
}

export class StatementFailedError extends ClickstreamError {
  readonly name = ERROR_NAMES.statementFailed;
}

export class SerializationConflictError extends ClickstreamError {
  readonly name = ERROR_NAMES.serializationConflict;
}

export class VerificationFailedError extends ClickstreamError {
  readonly name = ERROR_NAMES.verificationFailed;
}

export class InvalidInputError extends ClickstreamError {
  readonly name = ERROR_NAMES.invalidInput;
}
