import { REAL_TIME_WAIT } from '../../lib/outputs';

/**
 * Prepares a synthesized state machine definition for aws-local-stepfunctions, which runs our
 * JSONPath definitions but not every feature AWS has:
 *
 * - A Distributed Map (ItemReader / ItemBatcher / tolerated failures) becomes three states that
 *   do the same locally: `<Map>` reads the items from local S3 and batches them, `<Map> (inline)`
 *   runs the original item processor as an inline Map with the same MaxConcurrency, each item
 *   wrapped so that its failure is counted instead of failing the map, and `<Map> (tolerance)`
 *   fails with States.ExceedToleratedFailureThreshold past the tolerated percentage or count,
 *   exactly as AWS would, then restores the state as the original ResultPath says.
 * - Task states are listed with their resources so that each can be bound to a local handler.
 * - `"ResultPath": "$"` (a state's or a Catch's) is dropped: on AWS it replaces the input with the
 *   result, which is what no ResultPath does; the runner would instead store the result under a
 *   key named "$".
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type StateDef = { [key: string]: Json } & { Type: string };
export interface MachineDef {
  StartAt: string;
  States: Record<string, StateDef>;
  TimeoutSeconds?: number;
  [key: string]: Json | undefined;
}

export const READER_RESOURCE = 'local:distributed-map-reader';
export const TOLERANCE_RESOURCE = 'local:distributed-map-tolerance';
export const ITEMS_FIELD = '__localMapItems';
export const RESULTS_FIELD = '__localMapResults';

/** What the local reader and tolerance tasks of one rewritten Distributed Map need to know. */
export interface DistributedMapSpec {
  readonly name: string;
  readonly itemReader: { Resource: string; Parameters: Record<string, Json>; ReaderConfig?: Record<string, Json> };
  readonly itemBatcher?: Record<string, Json>;
  readonly itemSelector?: Record<string, Json>;
  readonly toleratedFailurePercentage?: number;
  readonly toleratedFailurePercentagePath?: string;
  readonly toleratedFailureCount?: number;
  readonly toleratedFailureCountPath?: string;
  readonly resultPath: string | null | undefined;
}

export interface PreparedMachine {
  readonly definition: MachineDef;
  readonly distributedMaps: ReadonlyMap<string, DistributedMapSpec>;
  /** Task state name → resource, across every nested processor and branch. */
  readonly tasks: ReadonlyMap<string, string>;
  /**
   * Wait state name → seconds (static) or undefined (SecondsPath / Timestamp): local mode shortens
   * these. Not listed: waits whose Comment starts with {@link REAL_TIME_WAIT}, which wait out a clock
   * outside Step Functions (a cache's time to live in another function) and so run in real time.
   */
  readonly waits: ReadonlyMap<string, number | undefined>;
  /** State name → IntervalSeconds of each of its retriers. */
  readonly retries: ReadonlyMap<string, number[]>;
  /** State name → the events AWS writes to the execution's history for it (see {@link historyWeights}). */
  readonly history: ReadonlyMap<string, HistoryWeight>;
}

/**
 * How many events AWS writes to an execution's history when a state is entered, exits (or has its
 * error caught), and retries ("HistoryEvent", Step Functions API Reference): a Lambda task
 * TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded|TaskFailed, TaskStateExited (a
 * `.sync` task also TaskSubmitted; each retry Scheduled, Started, Failed again); a Map or Parallel
 * state Entered, Started, Succeeded, Exited and per iteration MapIterationStarted and …Succeeded;
 * a Distributed Map also MapRunStarted and MapRunSucceeded, while its iterations run as child
 * executions with histories of their own (weight 0 here); any other state Entered and Exited.
 */
export interface HistoryWeight {
  readonly entered: number;
  readonly exited: number;
  readonly retried: number;
  /** Events per iteration start and per iteration end (Map states). */
  readonly iteration: number;
}

export const NOT_COUNTED: HistoryWeight = { entered: 0, exited: 0, retried: 0, iteration: 0 };

/** {@link HistoryWeight}s of every state of the original definition, inner ones included. */
function historyWeights(def: MachineDef, out = new Map<string, HistoryWeight>(), counted = true): Map<string, HistoryWeight> {
  for (const [name, state] of Object.entries(def.States)) {
    const processor = (state.ItemProcessor ?? state.Iterator) as (MachineDef & { ProcessorConfig?: { Mode?: string } }) | undefined;
    const distributed = processor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
    let weight: HistoryWeight;
    if (!counted) weight = NOT_COUNTED;
    else if (state.Type === 'Task') {
      const sync = /\.sync(:2)?$/.test(String(state.Resource)) ? 1 : 0;
      weight = { entered: 4 + sync, exited: 1, retried: 3 + sync, iteration: 0 };
    } else if (distributed) weight = { entered: 3, exited: 3, retried: 0, iteration: 0 };
    else if (state.Type === 'Map') weight = { entered: 2, exited: 2, retried: 0, iteration: 1 };
    else if (state.Type === 'Parallel') weight = { entered: 2, exited: 2, retried: 0, iteration: 0 };
    else weight = { entered: 1, exited: 1, retried: 0, iteration: 0 };
    out.set(name, weight);
    if (distributed) {
      // Locally the Distributed Map is three states: its reader task carries the Map's events.
      out.set(`${name} (inline)`, NOT_COUNTED);
      out.set(`${name} (tolerance)`, NOT_COUNTED);
    }
    if (processor) historyWeights(processor, out, counted && !distributed);
    for (const branch of (state.Branches ?? []) as unknown as MachineDef[]) historyWeights(branch, out, counted);
  }
  return out;
}

export function prepareDefinition(original: MachineDef): PreparedMachine {
  const distributedMaps = new Map<string, DistributedMapSpec>();
  // A JSON copy, not structuredClone: objects must come from this realm (the runner checks for plain objects).
  const history = historyWeights(original);
  const definition = rewrite(JSON.parse(JSON.stringify(original)) as MachineDef, distributedMaps);
  const tasks = new Map<string, string>();
  const waits = new Map<string, number | undefined>();
  const retries = new Map<string, number[]>();
  const walk = (def: MachineDef) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task') {
        const resource = String(state.Resource);
        if (tasks.has(name) && tasks.get(name) !== resource)
          throw new Error(`Two Task states are named "${name}" with different resources; local mode binds tasks by name.`);
        tasks.set(name, resource);
      }
      if (state.Type === 'Wait' && !String(state.Comment ?? '').startsWith(REAL_TIME_WAIT))
        waits.set(name, typeof state.Seconds === 'number' ? state.Seconds : undefined);
      if (Array.isArray(state.Retry))
        retries.set(
          name,
          (state.Retry as Array<{ IntervalSeconds?: number }>).map((r) => r.IntervalSeconds ?? 1),
        );
      const processor = (state.ItemProcessor ?? state.Iterator) as MachineDef | undefined;
      if (processor) walk(processor);
      for (const branch of (state.Branches ?? []) as unknown as MachineDef[]) walk(branch);
    }
  };
  walk(definition);
  return { definition, distributedMaps, tasks, waits, retries, history };
}

function rewrite(def: MachineDef, maps: Map<string, DistributedMapSpec>): MachineDef {
  const states: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(def.States)) {
    if (state.ResultPath === '$') delete (state as Record<string, Json>).ResultPath;
    for (const c of (Array.isArray(state.Catch) ? state.Catch : []) as Array<Record<string, Json>>) if (c.ResultPath === '$') delete c.ResultPath;
    const processor = (state.ItemProcessor ?? state.Iterator) as MachineDef | undefined;
    if (processor) {
      const key = state.ItemProcessor ? 'ItemProcessor' : 'Iterator';
      (state as Record<string, Json>)[key] = rewrite(processor, maps) as unknown as Json;
    }
    if (Array.isArray(state.Branches)) state.Branches = (state.Branches as unknown as MachineDef[]).map((b) => rewrite(b, maps)) as unknown as Json;
    const config = (state.ItemProcessor as { ProcessorConfig?: { Mode?: string } } | undefined)?.ProcessorConfig;
    if (state.Type !== 'Map' || config?.Mode !== 'DISTRIBUTED') {
      states[name] = state;
      continue;
    }
    if (!state.ItemReader) throw new Error(`Distributed Map ${name} without an ItemReader is not supported locally`);
    if (state.ResultWriter) throw new Error(`Distributed Map ${name}: ResultWriter cannot run locally; read results from what the item processor writes`);
    if (state.ResultSelector) throw new Error(`Distributed Map ${name}: ResultSelector is not supported locally`);
    if (state.ItemBatcher && state.ItemSelector) throw new Error(`Distributed Map ${name}: ItemSelector with ItemBatcher is not supported locally`);
    const spec: DistributedMapSpec = {
      name,
      itemReader: state.ItemReader as DistributedMapSpec['itemReader'],
      itemBatcher: state.ItemBatcher as Record<string, Json> | undefined,
      itemSelector: state.ItemSelector as Record<string, Json> | undefined,
      toleratedFailurePercentage: state.ToleratedFailurePercentage as number | undefined,
      toleratedFailurePercentagePath: state.ToleratedFailurePercentagePath as string | undefined,
      toleratedFailureCount: state.ToleratedFailureCount as number | undefined,
      toleratedFailureCountPath: state.ToleratedFailureCountPath as string | undefined,
      resultPath: state.ResultPath as string | null | undefined,
    };
    maps.set(name, spec);
    const inner = state.ItemProcessor as unknown as MachineDef;
    const catches: Record<string, Json> = state.Catch ? { Catch: state.Catch } : {};
    const follow: Record<string, Json> = state.End ? { End: true } : { Next: state.Next };
    states[name] = { Type: 'Task', Resource: READER_RESOURCE, ResultPath: `$.${ITEMS_FIELD}`, TimeoutSeconds: 3600, Next: `${name} (inline)`, ...catches };
    const inline: StateDef = {
      Type: 'Map',
      ItemsPath: `$.${ITEMS_FIELD}`,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: `${name} (item)`,
        States: {
          [`${name} (item)`]: {
            Type: 'Parallel',
            Branches: [{ StartAt: inner.StartAt, States: inner.States } as unknown as Json],
            ResultSelector: { 'value.$': '$[0]' },
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.__error', Next: `${name} (item failed)` }],
            End: true,
          },
          [`${name} (item failed)`]: {
            Type: 'Pass',
            Parameters: { failed: true, 'error.$': '$.__error.Error', 'cause.$': '$.__error.Cause' },
            End: true,
          },
        },
      },
      ResultPath: `$.${RESULTS_FIELD}`,
      Next: `${name} (tolerance)`,
      ...catches,
    };
    for (const key of ['MaxConcurrency', 'MaxConcurrencyPath', 'Retry', 'ItemSelector'] as const) if (state[key] !== undefined) inline[key] = state[key];
    states[`${name} (inline)`] = inline;
    states[`${name} (tolerance)`] = {
      Type: 'Task',
      Resource: TOLERANCE_RESOURCE,
      Parameters: { 'state.$': '$', map: name },
      TimeoutSeconds: 600,
      ...follow,
      ...catches,
    }; // no ResultPath: the result replaces the state
  }
  def.States = states;
  return def;
}

/** Evaluates a simple JSONPath (`$`, `$.a.b`, `$.a[0]`) — enough for the paths our definitions use. */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  if (!path.startsWith('$')) throw new Error(`Unsupported JSONPath ${path}`);
  let current: unknown = value;
  for (const part of path.slice(1).match(/\.[^.[\]]+|\[\d+\]/g) ?? []) {
    if (current === null || typeof current !== 'object') return undefined;
    current = part.startsWith('[') ? (current as unknown[])[Number(part.slice(1, -1))] : (current as Record<string, unknown>)[part.slice(1)];
  }
  return current;
}

/** Evaluates a Parameters-style template (`"key.$": "$.path"`) against `input`. */
export function evaluateTemplate(template: Json, input: unknown): unknown {
  if (Array.isArray(template)) return template.map((t) => evaluateTemplate(t, input));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$') && typeof v === 'string') out[k.slice(0, -2)] = readPath(input, v);
    else out[k] = evaluateTemplate(v, input);
  }
  return out;
}

/** Writes `value` at a simple path, returning a new object; `$` replaces the whole input. */
export function writePath(input: unknown, path: string, value: unknown): unknown {
  if (path === '$') return value;
  const parts = path.slice(2).split('.');
  const root = { ...(input as Record<string, unknown>) };
  let node: Record<string, unknown> = root;
  for (let i = 0; i < parts.length - 1; i++) {
    node[parts[i]] = { ...((node[parts[i]] as Record<string, unknown>) ?? {}) };
    node = node[parts[i]] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
  return root;
}
