import { randomUUID } from 'node:crypto';
import type { Countdown } from '../faults';
import { type LambdaFaultRule } from '../faults';
import { type Invocation, installInvocationIdentity, installPerFunctionEnvironment, invocations, registerEnvironment } from './invocation';

export interface LocalFunction {
  /** `arn:aws:lambda:…:function:<logicalId>` as the local template resolves it. */
  readonly arn: string;
  readonly name: string;
  /** Absolute path of the handler module (exports `handler`). */
  readonly module: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** A function error as Lambda reports it: `name` is the errorType Step Functions matches on. */
export class LambdaFunctionError extends Error {
  constructor(
    name: string,
    public readonly errorMessage: string,
    public readonly trace: string[] = [],
  ) {
    super(JSON.stringify({ errorType: name, errorMessage, trace }));
    this.name = name;
  }
}

export interface FunctionCounters {
  invocations: number;
  errors: number;
  durationMs: number;
  /** Σ billed GB-seconds: duration rounded up to 1 ms × memory. */
  gbSeconds: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Lambda: 6 MB for a synchronous invocation's request and for its response ("Lambda quotas"). */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The error Step Functions gives a task whose function timed out, ran out of memory or crashed. */
const UNHANDLED = 'Lambda.Unknown';

/**
 * Runs the deployed handler modules in this process. Every function's environment from the
 * template is merged into `process.env` once, before any module loads; two functions asking for
 * different values of one variable is a configuration error (they would differ on AWS too).
 */
export class LambdaRuntime {
  private readonly functions = new Map<string, LocalFunction>();
  private readonly handlers = new Map<string, Handler>();
  public readonly counters = new Map<string, FunctionCounters>();
  /** Fault injection (see `local/faults.ts`): functions that crash or time out. */
  public readonly faults: Array<Countdown<LambdaFaultRule>> = [];

  /** The functions this runtime runs (module paths, memory sizes). */
  get functionList(): LocalFunction[] {
    return [...this.functions.values()];
  }

  constructor(functions: ReadonlyArray<LocalFunction>, baseEnvironment: Readonly<Record<string, string>>) {
    installPerFunctionEnvironment();
    for (const f of functions) {
      this.functions.set(f.arn, f);
      this.counters.set(f.name, { invocations: 0, errors: 0, durationMs: 0, gbSeconds: 0 });
      // Each function sees its own variables only (local/lambda/invocation.ts), as on Lambda.
      registerEnvironment(f.name, { ...f.environment });
    }
    Object.assign(process.env, baseEnvironment);
    installInvocationIdentity();
  }

  /** Changes one variable of a function's environment (what UpdateFunctionConfiguration does). */
  setEnvironment(functionName: string, name: string, value: string | undefined): void {
    const f = [...this.functions.values()].find((x) => x.name === functionName);
    if (!f) throw new Error(`no function ${functionName}`);
    const environment: Record<string, string> = { ...f.environment };
    if (value === undefined) delete environment[name];
    else environment[name] = value;
    const updated = { ...f, environment };
    this.functions.set(f.arn, updated);
    registerEnvironment(f.name, environment);
  }

  has(arn: string): boolean {
    return this.functions.has(arn);
  }

  /** Invokes a function like Lambda does: resolves with its result or rejects with its error. */
  async invoke(arn: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(arn);
    if (!fn) throw new LambdaFunctionError('ResourceNotFoundException', `Function not found: ${arn}`);
    const counters = this.counters.get(fn.name) as FunctionCounters;
    const started = Date.now();
    const deadline = started + fn.timeoutMs;
    const context = {
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memoryMb),
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let timer: NodeJS.Timeout | undefined;
    const invocation: Invocation = { functionId: fn.name, ended: false };
    const fault = this.faults.find((f) => fn.module.includes(`/lambdas/${f.rule.function}/`) && f.remaining > 0);
    // Step Functions reports a function's timeout, out-of-memory or crash as Lambda.Unknown
    // ("Handle Lambda service exceptions", Step Functions Developer Guide); so does local mode.
    const fail = (f: Countdown<LambdaFaultRule>) =>
      new LambdaFunctionError(
        UNHANDLED,
        f.rule.error === 'Sandbox.Timedout' ? timedOut() : `${f.rule.error}: Runtime exited with error: signal: killed (injected fault)`,
      );
    const timedOut = () => `Sandbox.Timedout: Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`;
    try {
      if (fault?.rule.when === 'before' && fault.take()) throw fail(fault);
      // Events cross a JSON boundary on AWS; so they do here (no shared references).
      const request = JSON.stringify(event ?? null);
      if (Buffer.byteLength(request) > MAX_SYNC_PAYLOAD_BYTES) {
        throw new LambdaFunctionError(
          'RequestEntityTooLargeException',
          `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
        );
      }
      const payload = JSON.parse(request);
      const result = await Promise.race([
        // The invocation's identity travels with its async work (its AWS calls carry it to the edge).
        // The module loads inside the invocation too: module-scope code sees this function's environment.
        invocations.run(invocation, () => this.load(fn)(payload, context)),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            // On AWS the sandbox stops here: whatever the handler still does must not reach anything.
            invocation.ended = true;
            reject(new LambdaFunctionError(UNHANDLED, timedOut()));
          }, fn.timeoutMs);
        }),
      ]);
      if (fault?.rule.when === 'after' && fault.take()) throw fail(fault);
      if (result === undefined) return null;
      const response = JSON.stringify(result);
      if (Buffer.byteLength(response) > MAX_SYNC_PAYLOAD_BYTES) {
        throw new LambdaFunctionError(
          'Function.ResponseSizeTooLarge',
          `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_PAYLOAD_BYTES} bytes).`,
        );
      }
      return JSON.parse(response);
    } catch (e) {
      counters.errors++;
      if (e instanceof LambdaFunctionError) throw e;
      const err = e as Error;
      throw new LambdaFunctionError(
        err?.name || 'Error',
        err?.message ?? String(e),
        (err?.stack ?? '')
          .split('\n')
          .slice(1, 6)
          .map((l) => l.trim()),
      );
    } finally {
      clearTimeout(timer);
      const ms = Date.now() - started;
      counters.invocations++;
      counters.durationMs += ms;
      counters.gbSeconds += (Math.max(1, ms) / 1000) * (fn.memoryMb / 1024);
    }
  }

  private load(fn: LocalFunction): Handler {
    let handler = this.handlers.get(fn.arn);
    if (!handler) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(fn.module) as { handler?: Handler };
      if (typeof mod.handler !== 'function') throw new LambdaFunctionError('Runtime.HandlerNotFound', `${fn.module} does not export handler`);
      handler = mod.handler;
      this.handlers.set(fn.arn, handler);
    }
    return handler;
  }
}
