import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERROR_NAMES } from '../../lambdas/core/errors';

/**
 * The retry policies of every workflow, in one place. Backoff with full jitter, so that many
 * executions catching up at once spread out instead of retrying in lockstep (seed 000).
 */
export const RetryPolicies = {
  /** Lambda service hiccups and throttling: safe to retry any task, all our handlers are idempotent. */
  lambdaService: {
    errors: [
      'Lambda.ClientExecutionTimeoutException',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  },
  /**
   * A function that crashed or timed out, perhaps after its side effects: every handler of ours is
   * idempotent (same input, same outcome), so it runs again — twice at most, in case the cause stays.
   * Step Functions reports timeouts, out-of-memory and crashes as `Lambda.Unknown` (Step Functions
   * Developer Guide, "Handle Lambda service exceptions"); the runtime's own error types are listed
   * too, so that either form is retried the same way.
   */
  lambdaCrash: {
    errors: ['Lambda.Unknown', 'Sandbox.Timedout', 'Runtime.ExitError'],
    interval: Duration.seconds(2),
    maxAttempts: 2,
    backoffRate: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: sfn.JitterType.FULL,
  },
  /** Our TransientError: throttled or briefly unavailable S3, Firehose or Data API. */
  transient: {
    errors: [ERROR_NAMES.transient, 'States.Timeout'],
    interval: Duration.seconds(5),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.seconds(120),
    jitterStrategy: sfn.JitterType.FULL,
  },
  /** A table load that lost a serializable-isolation race: run its whole transaction again. */
  serializationConflict: {
    errors: [ERROR_NAMES.serializationConflict],
    interval: Duration.seconds(3),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  },
} as const satisfies Record<string, sfn.RetryProps>;

/** Adds the Lambda-service, crash and transient retries to a task. */
export function withTaskRetries<T extends sfn.TaskStateBase>(task: T): T {
  task.addRetry(RetryPolicies.lambdaService);
  task.addRetry(RetryPolicies.lambdaCrash);
  task.addRetry(RetryPolicies.transient);
  return task;
}

/**
 * A workflow step that invokes one of our functions: the handler's return value is the result
 * (`payloadResponseOnly`), placed at `resultPath`, with the task timeout and every retry policy.
 */
export function lambdaStep(
  scope: Construct,
  stateId: string,
  lambdaFunction: lambda.IFunction,
  payload: Record<string, unknown>,
  resultPath: string,
  timeout: Duration,
): tasks.LambdaInvoke {
  return withTaskRetries(
    new tasks.LambdaInvoke(scope, stateId, {
      lambdaFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject(payload),
      resultPath,
      taskTimeout: sfn.Timeout.duration(timeout),
    }),
  );
}
