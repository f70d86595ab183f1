/**
 * Fault injection for local mode, switched by configuration (`npm start --faults FILE`, or the
 * `faults` option of `startLocalCloud`; tests may also change the services' `faults` at run time).
 * Each rule fires `times` times, then the service behaves again. What each fault looks like is
 * what the real service does: S3 answers 503 SlowDown or 500 InternalError, Firehose fails records
 * inside a 200 PutRecordBatch, a Data API statement fails inside its transaction (everything
 * before it is rolled back), the Data API answers 503 while the warehouse is away, and a Lambda
 * function crashes (Runtime.ExitError) or times out (Sandbox.Timedout) — before or after its
 * side effects.
 */
export interface S3FaultRule {
  readonly method: 'GET' | 'PUT';
  /** Keys it applies to (a regular expression). */
  readonly key: string;
  readonly times: number;
  readonly code: 'SlowDown' | 'InternalError';
}

export interface LambdaFaultRule {
  /** The function's folder under `lambdas/`, e.g. `transform`. */
  readonly function: string;
  readonly times: number;
  readonly error: 'Runtime.ExitError' | 'Sandbox.Timedout';
  /** `before`: nothing of the invocation happens; `after`: its side effects happen, its result is lost. */
  readonly when: 'before' | 'after';
}

export interface FaultPlan {
  readonly s3?: ReadonlyArray<S3FaultRule>;
  /** Records Firehose fails inside PutRecordBatch (answered 200 with FailedPutCount). */
  readonly firehoseFailRecords?: number;
  /** Statements (a regular expression on the SQL) that fail inside their transaction. */
  readonly dataApiStatements?: ReadonlyArray<{ readonly sql: string; readonly times: number }>;
  /** Data API calls answered 503 ServiceUnavailable: the warehouse is away. */
  readonly warehouseUnavailableCalls?: number;
  readonly lambda?: ReadonlyArray<LambdaFaultRule>;
}

/** A rule with a countdown; `take` says whether it fires now. */
export class Countdown<T extends { times: number }> {
  public fired = 0;
  private left: number;

  constructor(public readonly rule: T) {
    this.left = rule.times;
  }

  take(): boolean {
    if (this.left <= 0) return false;
    this.left--;
    this.fired++;
    return true;
  }

  get remaining(): number {
    return this.left;
  }
}
