import * as path from 'node:path';
import { definitionWithPlaceholders } from '../../support/asl';
import { expectGoldenText } from '../../support/golden';
import { synthEnvironment } from '../../support/synth';

type State = Record<string, unknown> & { Type: string };
type Definition = { StartAt: string; States: Record<string, State> };

const GOLDEN_DIR = path.join(__dirname, '..', '..', 'golden');
const { template } = synthEnvironment('prod');

function definitionOf(namePrefix: string): Definition {
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith(namePrefix));
  expect(machines).toHaveLength(1);
  return definitionWithPlaceholders(machines[0][1].Properties.DefinitionString) as Definition;
}

/** Every state of a definition, nested Map/Parallel states included, by name. */
function allStates(def: Definition): Record<string, State> {
  const out: Record<string, State> = {};
  const walk = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      out[name] = state;
      const processor = (state.ItemProcessor ?? state.Iterator) as Definition | undefined;
      if (processor) walk(processor.States);
      for (const branch of (state.Branches ?? []) as Definition[]) walk(branch.States);
    }
  };
  walk(def.States);
  return out;
}

/** Compares with the golden file; `UPDATE_GOLDEN=1 npm test` rewrites it after a reviewed change. */
function expectGolden(name: string, def: Definition): void {
  const file = path.join(GOLDEN_DIR, name);
  const text = `${JSON.stringify(def, null, 2)}\n`;
  expectGoldenText(file, text);
}

describe('LoadWorkflow', () => {
  const def = definitionOf('LoadWorkflowStateMachine');
  const states = allStates(def);

  it('matches the golden ASL (change detector)', () => expectGolden('load.asl.json', def));

  it('reads top to bottom: PlanLoad → TransformChunks → PrepareSchema → LoadTables → VerifyAndCommit', () => {
    expect(def.StartAt).toBe('PlanLoad');
    expect(states.PlanLoad.Next).toBe('AnythingToLoad?');
    expect(states['AnythingToLoad?'].Default).toBe('TransformChunks');
    expect(states.TransformChunks.Next).toBe('PrepareSchema');
    expect(states.PrepareSchema.Next).toBe('TestRun?');
    expect(states['TestRun?'].Default).toBe('LoadTables');
    expect(states.LoadTables.Next).toBe('VerifyAndCommit');
    expect(states.VerifyAndCommit.Next).toBe('LoadSucceeded');
  });

  it('skips the warehouse on a test run', () => {
    expect(states['TestRun?'].Choices).toEqual([{ Variable: '$.plan.dryRun', BooleanEquals: true, Next: 'VerifyAndCommit' }]);
  });

  it('bounds the fan-outs by configuration', () => {
    expect(states.TransformChunks.MaxConcurrency).toBe(16);
    expect(states.LoadTables.MaxConcurrency).toBe(4);
  });

  it('loads a table by submit, wait, check, loop — and retries a serialization conflict as a whole', () => {
    const branch = (states.LoadTable.Branches as Definition[])[0];
    expect(branch.StartAt).toBe('SubmitLoad');
    expect(states.SubmitLoad.Next).toBe('WaitForLoad');
    expect(states.WaitForLoad).toMatchObject({ Type: 'Wait', SecondsPath: '$.statement.waitSeconds', Next: 'CheckStatement' });
    expect(states['LoadFinished?']).toMatchObject({ Default: 'WaitForLoad' });
    expect(states.LoadTable.Retry).toEqual([expect.objectContaining({ ErrorEquals: ['SerializationConflictError'] })]);
  });

  it('catches every step into RecordFailure with $.<Step>Error, then fails with its error', () => {
    for (const step of ['PlanLoad', 'TransformChunks', 'PrepareSchema', 'LoadTables', 'VerifyAndCommit']) {
      expect(states[step].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: `$.${step}Error`, Next: 'RecordFailure' }]);
    }
    expect(states.RecordFailure.Next).toBe('LoadFailed');
    expect(states.LoadFailed).toMatchObject({ Type: 'Fail', ErrorPath: '$.failure.error', CausePath: '$.failure.cause' });
  });

  it('retries every Lambda task on service errors and TransientError, with jitter', () => {
    const taskNames = Object.entries(states)
      .filter(([, s]) => s.Type === 'Task')
      .map(([n]) => n);
    expect(taskNames.sort()).toEqual(['CheckStatement', 'PlanLoad', 'PrepareSchema', 'RecordFailure', 'SubmitLoad', 'Transform', 'VerifyAndCommit']);
    for (const name of taskNames) {
      const errors = (states[name].Retry as Array<{ ErrorEquals: string[]; JitterStrategy: string }>).flatMap((r) => r.ErrorEquals);
      expect(errors).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'TransientError']));
      expect(states[name].TimeoutSeconds).toBeGreaterThan(0);
    }
  });

  it('uses JSONPath only (no JSONata, which local mode cannot run)', () => {
    expect(JSON.stringify(def)).not.toMatch(/QueryLanguage|JSONata|\{%/);
  });
});

describe('BackfillWorkflow', () => {
  const def = definitionOf('BackfillWorkflowStateMachine');
  const states = allStates(def);

  it('matches the golden ASL (change detector)', () => expectGolden('backfill.asl.json', def));

  it('plans, fans out with a Distributed Map over the S3 plan, and summarizes', () => {
    expect(def.StartAt).toBe('PlanBackfill');
    expect(states.PlanBackfill.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.PlanBackfillError', Next: 'BackfillRejected' }]);
    expect(states.LoadWindows).toMatchObject({
      Type: 'Map',
      MaxConcurrencyPath: '$.plan.maxConcurrency',
      ToleratedFailurePercentagePath: '$.plan.toleratedFailurePercentage',
      ItemReader: {
        Resource: expect.stringContaining(':states:::s3:getObject'),
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: expect.any(String), 'Key.$': '$.plan.itemsKey' },
      },
      ItemBatcher: { MaxItemsPerBatchPath: '$.plan.windowsPerBatch', BatchInput: { 'backfillId.$': '$.plan.backfillId', 'dryRun.$': '$.plan.dryRun' } },
      ItemProcessor: expect.objectContaining({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } }),
      Next: 'Summarize',
    });
    expect(states.Summarize.Next).toBe('WithinTolerance?');
  });

  it("runs each window through the load workflow with startExecution.sync:2, in the plan's load mode", () => {
    expect(states.LoadWindow.Resource).toBe('arn:${AWS::Partition}:states:::states:startExecution.sync:2');
    expect(states.LoadWindow.Parameters).toMatchObject({
      StateMachineArn: expect.stringMatching(/^\$\{LoadWorkflowStateMachine/),
      Input: { 'source.$': '$.window.source', window: { 'from.$': '$.window.from', 'to.$': '$.window.to' }, 'mode.$': '$.loadMode', 'dryRun.$': '$.dryRun' },
    });
    expect(states.LoadBatch.ItemSelector).toEqual({
      'window.$': '$$.Map.Item.Value',
      'dryRun.$': '$.BatchInput.dryRun',
      'loadMode.$': '$.BatchInput.loadMode',
    });
  });

  it('imports an archive first (mode "import"): a Distributed Map of object batches, then the hours planned as windows', () => {
    expect(states['Import?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.plan.mode', StringEquals: 'import', Next: 'ImportArchive' }],
      Default: 'AnyWindows?',
    });
    expect(states.ImportArchive).toMatchObject({
      Type: 'Map',
      MaxConcurrencyPath: '$.plan.maxConcurrency',
      ItemReader: { Parameters: { Bucket: expect.any(String), 'Key.$': '$.plan.import.itemsKey' } },
      ItemBatcher: {
        MaxItemsPerBatchPath: '$.plan.import.objectsPerBatch',
        BatchInput: expect.objectContaining({ 'source.$': '$.plan.sources[0]', 'bucket.$': '$.plan.import.bucket' }),
      },
      ItemProcessor: expect.objectContaining({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'ImportBatch' }),
      ResultPath: null,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.ImportArchiveError', Next: 'ImportFailed' }],
      Next: 'PlanImportedWindows',
    });
    expect(states.PlanImportedWindows).toMatchObject({ ResultPath: '$.plan', Next: 'AnyWindows?' });
    expect(states.PlanImportedWindows.Parameters).toMatchObject({ 'imported.$': '$.plan' });
  });

  it('records a failed window and goes on with the others', () => {
    expect(states.LoadWindow.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.LoadWindowError', Next: 'WindowFailed' }]);
    expect(states.WindowFailed).toMatchObject({ Type: 'Pass', End: true });
    expect(states.LoadBatch.MaxConcurrency).toBe(1);
    expect(states.LoadWindows.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.LoadWindowsError', Next: 'Summarize' }]);
  });

  it('uses JSONPath only (no JSONata, which local mode cannot run)', () => {
    expect(JSON.stringify(def)).not.toMatch(/QueryLanguage|JSONata|\{%/);
  });
});

describe('VerifyWorkflow', () => {
  const def = definitionOf('VerifyWorkflowStateMachine');

  it('matches the golden ASL (change detector)', () => expectGolden('verify.asl.json', def));

  it("verifies, then fails with the report's message when an hour does not add up (the alarm counts failed executions)", () => {
    expect(def.StartAt).toBe('VerifyHours');
    expect(def.States.VerifyHours).toMatchObject({
      Parameters: { 'request.$': '$', 'executionName.$': '$$.Execution.Name' },
      ResultPath: '$.report',
      Next: 'AllHoursAddUp?',
    });
    expect(def.States['AllHoursAddUp?']).toMatchObject({
      Choices: [{ Variable: '$.report.ok', BooleanEquals: true, Next: 'Verified' }],
      Default: 'HoursDoNotAddUp',
    });
    expect(def.States.HoursDoNotAddUp).toEqual({ Type: 'Fail', Error: 'VerificationFailed', CausePath: '$.report.message' });
  });
});

describe('ForgetWorkflow', () => {
  const def = definitionOf('ForgetWorkflowStateMachine');
  const states = allStates(def);

  it('matches the golden ASL (change detector)', () => expectGolden('forget.asl.json', def));

  it('plans, waits in real time for the suppression to reach every collector, rewrites objects in a Distributed Map, then erases rows per source', () => {
    expect(def.StartAt).toBe('PlanForget');
    expect(states.PlanForget).toMatchObject({
      Parameters: { 'request.$': '$', 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' },
      ResultPath: '$.plan',
      Next: 'Settle',
    });
    expect(states.PlanForget.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.PlanForgetError', Next: 'ForgetRejected' }]);
    expect(states.Settle).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.plan.settleSeconds',
      Comment: expect.stringMatching(/^Real time:/),
      Next: 'AnyObjects?',
    });
    expect(states.RewriteObjects).toMatchObject({
      ItemReader: { Parameters: { 'Key.$': '$.plan.itemsKey' } },
      ItemBatcher: { MaxItemsPerBatchPath: '$.plan.itemsPerBatch', BatchInput: { 'requestId.$': '$.plan.requestId', 'dryRun.$': '$.plan.dryRun' } },
      ItemProcessor: expect.objectContaining({ ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } }),
      ResultPath: null,
      Next: 'EraseSources',
    });
    expect(states.EraseSources).toMatchObject({ ItemsPath: '$.plan.sources', MaxConcurrency: 1, ResultPath: '$.receipts', Next: 'Forgotten' });
  });
});
