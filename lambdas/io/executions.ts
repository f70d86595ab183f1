import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export interface ExecutionOptions {
  /** Give up (and throw) after this long. @default 30 minutes */
  readonly timeoutMs?: number;
  /** Called (and awaited) after each DescribeExecution, e.g. to draw progress. */
  readonly onPoll?: (d: DescribeExecutionCommandOutput, elapsedMs: number) => void | Promise<void>;
  /** The longest wait between two polls (the wait doubles from 100 ms up to this). @default 2000 */
  readonly maxIntervalMs?: number;
}

/**
 * Starts an execution and polls it (backing off from 100 ms to 2 s, or `maxIntervalMs`) until it
 * ends: the one execution poller of the CLI, the benchmarks and the tests.
 */
export async function runExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  input: unknown,
  options: ExecutionOptions = {},
): Promise<DescribeExecutionCommandOutput & { executionArn: string }> {
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
  return waitForExecution(sfn, executionArn as string, options);
}

/** Polls an execution until it ends. */
export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  options: ExecutionOptions = {},
): Promise<DescribeExecutionCommandOutput & { executionArn: string }> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const longest = options.maxIntervalMs ?? 2000;
  for (let wait = Math.min(100, longest); ; wait = Math.min(wait * 2, longest)) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    await options.onPoll?.(d, Date.now() - started);
    if (d.status !== 'RUNNING') return { ...d, executionArn };
    if (Date.now() - started > timeoutMs) throw new Error(`execution ${executionArn} still RUNNING after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** The readable message of a failed execution's cause (Lambda's error JSON or plain text). */
export function failureMessage(d: Pick<DescribeExecutionCommandOutput, 'error' | 'cause'>): string {
  let cause = d.cause ?? '';
  try {
    cause = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    // plain text
  }
  return `${d.error ?? 'failed'}: ${cause}`;
}
