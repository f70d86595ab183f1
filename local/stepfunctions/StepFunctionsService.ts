import '../polyfills';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { AwsError, type EdgeRequest, type EdgeResponse, epochSeconds, jsonError, jsonResponse } from '../edge/http';
import type { ObjectStore } from '../edge/objectStore';
import { LambdaFunctionError, type LambdaRuntime } from '../lambda/LambdaRuntime';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template';
import {
  type DistributedMapSpec,
  evaluateTemplate,
  type HistoryWeight,
  ITEMS_FIELD,
  type Json,
  type MachineDef,
  NOT_COUNTED,
  type PreparedMachine,
  prepareDefinition,
  READER_RESOURCE,
  readPath,
  RESULTS_FIELD,
  TOLERANCE_RESOURCE,
  writePath,
} from './prepare';

/** Step Functions: the largest input or output of a task, state or execution (256 KiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Step Functions: the most events one execution's history holds; reaching it fails the execution. */
export const MAX_HISTORY_EVENTS = 25_000;

export interface LocalStateMachine {
  readonly arn: string;
  readonly name: string;
  readonly definition: MachineDef;
  readonly roleArn: string;
  readonly type: 'STANDARD' | 'EXPRESS';
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number;
  readonly type: string;
  readonly details: Record<string, unknown>;
}

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: Status;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  /** Execution that started this one through startExecution.sync (backfill → load). */
  readonly parentArn?: string;
  history: HistoryEvent[];
  /** Events AWS would have written to this execution's history so far (the 25,000 quota). */
  awsHistoryEvents: number;
  stateTransitions: number;
  abort?: () => void;
  done: Promise<void>;
}

export interface StepFunctionsOptions {
  /** Multiplies Wait state durations and retry intervals; 1 = as on AWS. */
  readonly timeScale: number;
  /** Wait (milliseconds) for Wait states driven by SecondsPath (statement polling); local statements finish fast. */
  readonly dynamicWaitMs: number;
}

/**
 * IAM for what a state machine does with its own role (invoke a function, start and describe a
 * child execution, read the item list of a Distributed Map): undefined when allowed, else the
 * reason AWS gives.
 */
export type RoleAuthorizer = (roleArn: string, action: string, resource: string) => string | undefined;

const SYNC_RESOURCE = /^arn:aws:states:::states:startExecution(\.sync(:2)?)?$/;

/**
 * Step Functions for the synthesized state machines: StartExecution, DescribeExecution,
 * ListExecutions, StopExecution, ListStateMachines, DescribeStateMachine, GetExecutionHistory.
 * Executions run the definitions from the template with aws-local-stepfunctions; Lambda tasks
 * call the deployed handler modules; `startExecution.sync:2` starts a real (recorded) child
 * execution; Distributed Maps run inline as {@link prepareDefinition} describes.
 */
export class StepFunctionsService {
  private readonly machines = new Map<string, LocalStateMachine & { prepared: PreparedMachine }>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly journal: string;
  /** State transitions and executions, for the cost model. */
  public readonly counters = { executions: 0, stateTransitions: 0 };
  /** IAM of the state machines' roles (set by the local stack). @default everything allowed */
  public authorizeRole: RoleAuthorizer | undefined;

  constructor(
    machines: ReadonlyArray<LocalStateMachine>,
    private readonly lambdas: LambdaRuntime,
    private readonly store: ObjectStore,
    dataDir: string,
    private readonly options: StepFunctionsOptions,
  ) {
    for (const m of machines) {
      const prepared = prepareDefinition(m.definition);
      // What the runner cannot run fails the start, not an execution half-way (state names unique across the whole definition, as AWS requires).
      try {
        new StateMachine(prepared.definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
      } catch (e) {
        throw new Error(`State machine ${m.name}: local mode cannot run its definition as prepared: ${(e as Error).message}`, { cause: e });
      }
      this.machines.set(m.arn, { ...m, prepared });
    }
    fs.mkdirSync(dataDir, { recursive: true });
    this.journal = path.join(dataDir, 'executions.jsonl');
    this.loadJournal();
  }

  /** Every execution record (for tests and the cost model). */
  allExecutions(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  execution(arn: string): ExecutionRecord | undefined {
    return this.executions.get(arn);
  }

  /** Waits for every running execution (on shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING').map((e) => e.done);
    await Promise.race([Promise.allSettled(running), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  async handle(req: EdgeRequest): Promise<EdgeResponse> {
    const op = String(req.headers['x-amz-target']).split('.')[1];
    try {
      const input = JSON.parse(req.body.toString('utf8') || '{}');
      switch (op) {
        case 'StartExecution': {
          const record = this.start(String(input.stateMachineArn), input.input ?? '{}', input.name);
          return jsonResponse({ executionArn: record.executionArn, startDate: epochSeconds(record.startDate) });
        }
        case 'DescribeExecution':
          return jsonResponse(this.describe(this.get(String(input.executionArn))));
        case 'StopExecution': {
          const record = this.get(String(input.executionArn));
          if (record.status === 'RUNNING') {
            record.abort?.();
            this.finish(record, 'ABORTED', { error: input.error, cause: input.cause });
          }
          return jsonResponse({ stopDate: epochSeconds(record.stopDate ?? new Date()) });
        }
        case 'ListExecutions': {
          const machine = this.machine(String(input.stateMachineArn));
          const all = [...this.executions.values()]
            .filter((e) => e.stateMachineArn === machine.arn && (!input.statusFilter || e.status === input.statusFilter))
            .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
          const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString()) : 0;
          const max = Math.min(Number(input.maxResults || 100), 1000);
          const page = all.slice(start, start + max);
          return jsonResponse({
            executions: page.map((e) => ({
              executionArn: e.executionArn,
              stateMachineArn: e.stateMachineArn,
              name: e.name,
              status: e.status,
              startDate: epochSeconds(e.startDate),
              stopDate: e.stopDate ? epochSeconds(e.stopDate) : undefined,
            })),
            nextToken: start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined,
          });
        }
        case 'ListStateMachines':
          return jsonResponse({
            stateMachines: [...this.machines.values()].map((m) => ({
              stateMachineArn: m.arn,
              name: m.name,
              type: m.type,
              creationDate: epochSeconds(new Date(0)),
            })),
          });
        case 'DescribeStateMachine': {
          const m = this.machine(String(input.stateMachineArn));
          return jsonResponse({
            stateMachineArn: m.arn,
            name: m.name,
            status: 'ACTIVE',
            definition: JSON.stringify(m.definition),
            roleArn: m.roleArn,
            type: m.type,
            creationDate: epochSeconds(new Date(0)),
          });
        }
        case 'GetExecutionHistory': {
          const record = this.get(String(input.executionArn));
          const events = input.reverseOrder ? [...record.history].reverse() : record.history;
          const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString()) : 0;
          const max = Math.min(Number(input.maxResults || 100), 1000);
          return jsonResponse({
            events: events
              .slice(start, start + max)
              .map((e) => ({ id: e.id, previousEventId: e.previousEventId, timestamp: e.timestamp / 1000, type: e.type, ...e.details })),
            nextToken: start + max < events.length ? Buffer.from(String(start + max)).toString('base64url') : undefined,
          });
        }
        default:
          throw new AwsError('UnknownOperationException', `Step Functions ${op} is not supported by the local edge`);
      }
    } catch (e) {
      if (e instanceof AwsError) return jsonError(e);
      if (e instanceof SyntaxError) return jsonError(new AwsError('SerializationException', e.message));
      throw e;
    }
  }

  /** Starts an execution; same name + same input returns the existing one, as on AWS. */
  start(stateMachineArn: string, input: string, name?: string, parentArn?: string): ExecutionRecord {
    const machine = this.machine(stateMachineArn);
    let parsed: Json;
    try {
      parsed = JSON.parse(input);
    } catch (e) {
      throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: ${(e as Error).message}`);
    }
    const executionName = name ?? randomUUID();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(executionName)) throw new AwsError('InvalidName', `Invalid Name: '${executionName}'`);
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.name}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.input === input) return existing;
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name: executionName,
      input,
      startDate: new Date(),
      status: 'RUNNING',
      parentArn,
      history: [],
      awsHistoryEvents: 0,
      stateTransitions: 0,
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, record);
    this.counters.executions++;
    this.append(record);
    record.done = this.run(machine, record, parsed);
    return record;
  }

  /** Starts an execution and waits for its end (what startExecution.sync does). */
  async startAndWait(stateMachineArn: string, input: string, parentArn?: string): Promise<ExecutionRecord> {
    const record = this.start(stateMachineArn, input, undefined, parentArn);
    await record.done;
    return record;
  }

  private async run(machine: LocalStateMachine & { prepared: PreparedMachine }, record: ExecutionRecord, input: Json): Promise<void> {
    await Promise.resolve();
    const { prepared } = machine;
    const scale = this.options.timeScale;
    const waitTimeOverrides: Record<string, number> = {};
    for (const [name, seconds] of prepared.waits)
      waitTimeOverrides[name] = seconds === undefined ? this.options.dynamicWaitMs : Math.round(seconds * 1000 * scale);
    const retryIntervalOverrides: Record<string, number[]> = {};
    for (const [name, intervals] of prepared.retries) retryIntervalOverrides[name] = intervals.map((s) => Math.max(1, Math.round(s * 1000 * scale)));
    const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
    const aborter: { abort?: () => void } = {};
    for (const [stateName, resource] of prepared.tasks) {
      const handler = this.taskHandler(prepared, stateName, resource, record);
      taskResourceLocalHandlers[stateName] = async (taskInput: Json) => {
        this.checkPayload(record, stateName, 'input', taskInput, () => aborter.abort?.());
        const result = await handler(taskInput);
        this.checkPayload(record, stateName, 'result', result, () => aborter.abort?.());
        return result;
      };
    }

    const sm = new StateMachine(prepared.definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, waitTimeOverrides, retryIntervalOverrides },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: record.executionArn, Name: record.name, StartTime: record.startDate.toISOString(), Input: input, RoleArn: machine.roleArn },
        StateMachine: { Id: machine.arn, Name: machine.name },
      } as never,
    });
    record.abort = execution.abort;
    aborter.abort = () => execution.abort();
    const collecting = this.collectHistory(
      record,
      prepared.history,
      execution.eventLogs as unknown as AsyncGenerator<{ type: string; timestamp: number } & Record<string, unknown>>,
      aborter.abort,
    );
    const ended = await execution.result.then(
      (output) => ({ output }),
      (e: unknown) => ({ error: e as Error & { cause?: Error } }),
    );
    // The history is counted to its end before the execution's outcome is settled: an execution
    // whose last events reach the history quota fails, as on AWS.
    await Promise.race([collecting, new Promise((r) => setTimeout(r, 1000).unref())]);
    if (record.status !== 'RUNNING') return;
    if ('output' in ended) {
      this.finish(record, 'SUCCEEDED', { output: JSON.stringify(ended.output ?? null) });
    } else {
      const err = ended.error;
      const inner = err.name === 'ExecutionError' && err.cause ? err.cause : err;
      const status: Status = err.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
      this.finish(
        record,
        status,
        status === 'TIMED_OUT' ? { error: 'States.Timeout', cause: 'The execution timed out' } : { error: inner.name, cause: inner.message },
      );
    }
  }

  /**
   * Step Functions' payload quota: a task's input (after Parameters), its result, or a state's
   * output over 256 KiB fails the execution with States.DataLimitExceeded — a terminal error that
   * no Catch, not even States.ALL, handles ("Error handling in Step Functions workflows").
   */
  private checkPayload(record: ExecutionRecord, stateName: string, what: 'input' | 'result' | 'output', value: unknown, abort: () => void): void {
    const bytes = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
    if (bytes <= MAX_PAYLOAD_BYTES || record.status !== 'RUNNING') return;
    this.finish(record, 'FAILED', {
      error: 'States.DataLimitExceeded',
      cause: `The state/task '${stateName}' ${what === 'input' ? 'input' : what === 'result' ? 'returned a result' : 'output'} with a size of ${bytes} bytes, exceeding the maximum of ${MAX_PAYLOAD_BYTES} bytes (Step Functions payload quota).`,
    });
    abort();
    throw Object.assign(new Error(`States.DataLimitExceeded in ${stateName}`), { name: 'States.DataLimitExceeded' });
  }

  /**
   * Step Functions' history quota: an execution whose history reaches 25,000 events fails, the
   * 25,000th being ExecutionFailed with States.Runtime ("Step Functions service quotas"; the error
   * as AWS writes it). Local events are counted as AWS would write them (`HistoryWeight`).
   */
  private countHistory(record: ExecutionRecord, events: number, abort: () => void): void {
    if (record.status !== 'RUNNING') return;
    // The last event the execution itself may write is the 24,999th: the 25,000th is its failure.
    record.awsHistoryEvents = Math.min(record.awsHistoryEvents + events, MAX_HISTORY_EVENTS - 1);
    if (record.awsHistoryEvents < MAX_HISTORY_EVENTS - 1) return;
    this.finish(record, 'FAILED', { error: 'States.Runtime', cause: `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).` });
    abort();
  }

  private async collectHistory(
    record: ExecutionRecord,
    weights: ReadonlyMap<string, HistoryWeight>,
    logs: AsyncGenerator<{ type: string; timestamp: number } & Record<string, unknown>>,
    abort: () => void = () => undefined,
  ): Promise<void> {
    const weight = (e: Record<string, unknown>, key: 'state' | 'parentState') =>
      weights.get((e[key] as { name?: string } | undefined)?.name ?? '') ?? NOT_COUNTED;
    for await (const event of logs) {
      const events =
        event.type === 'ExecutionStarted'
          ? 1
          : event.type === 'StateEntered'
            ? weight(event, 'state').entered
            : event.type === 'StateExited' || event.type === 'StateCaught'
              ? weight(event, 'state').exited
              : event.type === 'StateRetried'
                ? weight(event, 'state').retried
                : event.type.startsWith('MapIteration')
                  ? weight(event, 'parentState').iteration
                  : 0;
      this.countHistory(record, events, abort);
      if (event.type === 'StateExited') {
        const state = event.state as { name: string; output?: unknown } | undefined;
        try {
          if (state) this.checkPayload(record, state.name, 'output', state.output, abort);
        } catch {
          // the execution is failed and aborted; keep recording what happened
        }
      }
      if (event.type === 'StateEntered') {
        record.stateTransitions++;
        this.counters.stateTransitions++;
      }
      const { type, timestamp, ...rest } = event;
      const details: Record<string, unknown> = {};
      const state = rest.state as { name: string; input?: unknown; output?: unknown } | undefined;
      if (type === 'StateEntered' && state) details.stateEnteredEventDetails = { name: state.name, input: JSON.stringify(state.input ?? null) };
      else if (type === 'StateExited' && state) details.stateExitedEventDetails = { name: state.name, output: JSON.stringify(state.output ?? null) };
      else if (type === 'ExecutionStarted') details.executionStartedEventDetails = { input: JSON.stringify(rest.input ?? null) };
      else if (type === 'ExecutionSucceeded') details.executionSucceededEventDetails = { output: JSON.stringify(rest.output ?? null) };
      else if (type === 'ExecutionFailed') details.executionFailedEventDetails = { error: rest.Error, cause: String(rest.Cause ?? '') };
      else if (state) details.stateDetails = { name: state.name, ...('Error' in rest ? { error: rest.Error, cause: String(rest.Cause ?? '') } : {}) };
      const id = record.history.length + 1;
      if (record.history.length < MAX_HISTORY_EVENTS) record.history.push({ id, previousEventId: id - 1, timestamp, type, details });
    }
  }

  private taskHandler(prepared: PreparedMachine, stateName: string, resource: string, record: ExecutionRecord): (input: Json) => Promise<Json> {
    const roleArn = this.machine(record.stateMachineArn).roleArn;
    const denied = (action: string, target: string): void => {
      const reason = this.authorizeRole?.(roleArn, action, target);
      // The service call the state machine makes is refused: the task fails with the service's error.
      if (reason) throw Object.assign(new Error(reason), { name: action.startsWith('lambda:') ? 'Lambda.AWSLambdaException' : 'States.TaskFailed' });
    };
    if (resource === READER_RESOURCE || resource === TOLERANCE_RESOURCE) {
      return async (input: Json) => {
        if (resource === READER_RESOURCE) {
          // The reader task is named like its Map and has no Parameters: its input is the Map's input.
          return this.readItems(input, prepared.distributedMaps.get(stateName) as DistributedMapSpec, denied) as Json;
        }
        const { state, map } = input as { state: Record<string, unknown>; map: string };
        return this.checkTolerance(state, prepared.distributedMaps.get(map) as DistributedMapSpec) as Json;
      };
    }
    if (SYNC_RESOURCE.test(resource)) {
      const sync = resource.endsWith('.sync:2') ? 2 : resource.endsWith('.sync') ? 1 : 0;
      return async (input: Json) => {
        const params = input as { StateMachineArn?: string; Input?: unknown; Name?: string };
        const childInput = typeof params.Input === 'string' ? params.Input : JSON.stringify(params.Input ?? {});
        if (!sync) {
          denied('states:StartExecution', String(params.StateMachineArn));
          const child = this.start(String(params.StateMachineArn), childInput, params.Name, record.executionArn);
          return { ExecutionArn: child.executionArn, StartDate: child.startDate.toISOString() };
        }
        denied('states:StartExecution', String(params.StateMachineArn));
        const child = await this.startAndWait(String(params.StateMachineArn), childInput, record.executionArn);
        denied('states:DescribeExecution', child.executionArn);
        // The service integration's result: PascalCase, dates as epoch milliseconds.
        const envelope: Record<string, unknown> = {
          ExecutionArn: child.executionArn,
          StateMachineArn: child.stateMachineArn,
          Name: child.name,
          Status: child.status,
          StartDate: child.startDate.getTime(),
          StopDate: child.stopDate?.getTime(),
          Input: sync === 2 ? JSON.parse(child.input) : child.input,
          Output: child.output === undefined ? undefined : sync === 2 ? JSON.parse(child.output) : child.output,
          Error: child.error,
          Cause: child.cause,
        };
        if (child.status !== 'SUCCEEDED') {
          // What AWS does: the parent task fails with States.TaskFailed, the child's description as Cause.
          throw new LambdaFunctionError('States.TaskFailed', JSON.stringify(envelope));
        }
        return envelope as Json;
      };
    }
    if (this.lambdas.has(resource)) {
      return async (input: Json) => {
        denied('lambda:InvokeFunction', resource);
        try {
          return (await this.lambdas.invoke(resource, input)) as Json;
        } catch (e) {
          if (e instanceof LambdaFunctionError) {
            // Step Functions matches on the function's errorType; Cause is Lambda's error JSON.
            const error = new Error(e.message);
            error.name = e.name;
            throw error;
          }
          throw e;
        }
      };
    }
    return async () => {
      throw Object.assign(new Error(`local mode has no handler for Task resource ${resource}`), { name: 'States.Runtime' });
    };
  }

  private readItems(state: unknown, spec: DistributedMapSpec, denied: (action: string, resource: string) => void = () => undefined): unknown[] {
    const params = evaluateTemplate(spec.itemReader.Parameters, state) as { Bucket?: string; Key?: string };
    if (!params.Bucket || !params.Key) throw Object.assign(new Error(`ItemReader of ${spec.name} needs Bucket and Key`), { name: 'States.ItemReaderFailed' });
    try {
      denied('s3:GetObject', `arn:aws:s3:::${params.Bucket}/${params.Key}`);
    } catch (e) {
      throw Object.assign(new Error(`ItemReader of ${spec.name}: ${(e as Error).message}`), { name: 'States.ItemReaderFailed' });
    }
    let items: unknown;
    try {
      items = JSON.parse(this.store.get(params.Bucket, params.Key).body.toString('utf8'));
    } catch (e) {
      throw Object.assign(new Error(`ItemReader of ${spec.name} could not read s3://${params.Bucket}/${params.Key}: ${(e as Error).message}`), {
        name: 'States.ItemReaderFailed',
      });
    }
    if (!Array.isArray(items))
      throw Object.assign(new Error(`ItemReader of ${spec.name}: s3://${params.Bucket}/${params.Key} is not a JSON array`), {
        name: 'States.ItemReaderFailed',
      });
    if (!spec.itemBatcher) return items;
    const batcher = spec.itemBatcher;
    const maxItems =
      Number(
        batcher.MaxItemsPerBatch ?? (batcher.MaxItemsPerBatchPath ? readPath(state, String(batcher.MaxItemsPerBatchPath)) : items.length) ?? items.length,
      ) || items.length;
    const batchInput = batcher.BatchInput ? evaluateTemplate(batcher.BatchInput, state) : undefined;
    const batches: unknown[] = [];
    for (let i = 0; i < items.length; i += maxItems) {
      batches.push(batchInput === undefined ? { Items: items.slice(i, i + maxItems) } : { BatchInput: batchInput, Items: items.slice(i, i + maxItems) });
    }
    return batches;
  }

  private checkTolerance(state: Record<string, unknown>, spec: DistributedMapSpec): unknown {
    const items = (state[ITEMS_FIELD] as unknown[]) ?? [];
    const results = (state[RESULTS_FIELD] as Array<{ value?: unknown; failed?: boolean; error?: string; cause?: string }>) ?? [];
    const failed = results.filter((r) => r.failed);
    const pct =
      spec.toleratedFailurePercentage ?? (spec.toleratedFailurePercentagePath ? Number(readPath(state, spec.toleratedFailurePercentagePath)) : undefined);
    const count = spec.toleratedFailureCount ?? (spec.toleratedFailureCountPath ? Number(readPath(state, spec.toleratedFailureCountPath)) : undefined);
    const allowedByPct = pct === undefined ? 0 : (pct / 100) * items.length;
    const allowedByCount = count ?? 0;
    if (failed.length > 0 && failed.length > Math.max(allowedByPct, allowedByCount)) {
      const first = failed[0];
      throw Object.assign(
        new Error(
          `The specified tolerated failure threshold was exceeded: ${failed.length} of ${items.length} items failed (first: ${first.error}: ${String(first.cause).slice(0, 500)})`,
        ),
        { name: 'States.ExceedToleratedFailureThreshold' },
      );
    }
    const clean = { ...state };
    delete clean[ITEMS_FIELD];
    delete clean[RESULTS_FIELD];
    if (spec.resultPath === null) return clean;
    const values = results.filter((r) => !r.failed).map((r) => r.value);
    return writePath(clean, spec.resultPath ?? '$', values);
  }

  private describe(record: ExecutionRecord): Record<string, unknown> {
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      stopDate: record.stopDate ? epochSeconds(record.stopDate) : undefined,
      input: record.input,
      output: record.output,
      error: record.error,
      cause: record.cause,
    };
  }

  private finish(record: ExecutionRecord, status: Status, result: { output?: string; error?: string; cause?: string }): void {
    record.status = status;
    record.stopDate = new Date();
    record.output = result.output;
    record.error = result.error;
    record.cause = result.cause;
    this.append(record);
  }

  private get(arn: string): ExecutionRecord {
    const record = this.executions.get(arn);
    if (!record) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  private machine(arn: string): LocalStateMachine & { prepared: PreparedMachine } {
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private append(record: ExecutionRecord): void {
    const { executionArn, stateMachineArn, name, input, startDate, status, stopDate, output, error, cause, parentArn, stateTransitions } = record;
    fs.appendFileSync(
      this.journal,
      `${JSON.stringify({ executionArn, stateMachineArn, name, input, startDate, status, stopDate, output, error, cause, parentArn, stateTransitions })}\n`,
    );
  }

  private loadJournal(): void {
    if (!fs.existsSync(this.journal)) return;
    for (const line of fs.readFileSync(this.journal, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line);
        this.executions.set(r.executionArn, {
          ...r,
          startDate: new Date(r.startDate),
          stopDate: r.stopDate ? new Date(r.stopDate) : undefined,
          history: [],
          awsHistoryEvents: 0,
          done: Promise.resolve(),
        });
      } catch {
        // a torn last line after a crash: ignore it
      }
    }
    for (const r of this.executions.values()) {
      if (r.status === 'RUNNING') this.finish(r, 'ABORTED', { error: 'States.Runtime', cause: 'The local stack stopped while this execution ran' });
    }
  }
}
