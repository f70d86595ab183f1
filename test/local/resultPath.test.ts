import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectStore } from '../../local/edge/objectStore';
import { LambdaRuntime } from '../../local/lambda/LambdaRuntime';
import type { MachineDef } from '../../local/stepfunctions/prepare';
import { StepFunctionsService } from '../../local/stepfunctions/StepFunctionsService';

/**
 * `"ResultPath": "$"` replaces the state's input with its result (Step Functions Developer Guide,
 * "Specifying state output using ResultPath"), in a state and in a Catch; the runner library alone
 * would keep the input and add a key named "$".
 */
describe('local Step Functions: ResultPath "$"', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resultpath-'));
  const fnArn = 'arn:aws:lambda:us-east-1:000000000000:function:Boom';
  const module = path.join(dir, 'boom.js');
  fs.writeFileSync(module, "exports.handler = async () => { const e = new Error('boom'); e.name = 'Boom'; throw e; };");
  const definition: MachineDef = {
    StartAt: 'Replace',
    States: {
      Replace: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$', Next: 'Check' },
      Check: { Type: 'Choice', Choices: [{ Variable: '$.original', IsPresent: true, Next: 'Kept' }], Default: 'Fail' },
      Kept: { Type: 'Fail', Error: 'InputKept', Cause: 'ResultPath "$" kept the input' },
      Fail: { Type: 'Task', Resource: fnArn, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Done' }], Next: 'Done' },
      Done: { Type: 'Pass', End: true },
    },
  };
  const sfn = new StepFunctionsService(
    [{ arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:rp', name: 'rp', definition, roleArn: 'r', type: 'STANDARD' }],
    new LambdaRuntime([{ arn: fnArn, name: 'Boom', module, timeoutMs: 10_000, memoryMb: 128, environment: {} }], {}),
    new ObjectStore(path.join(dir, 's3')),
    path.join(dir, 'sfn'),
    { timeScale: 0.001, dynamicWaitMs: 10 },
  );
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces the input with the result, and with the error in a Catch', async () => {
    const record = await sfn.startAndWait('arn:aws:states:us-east-1:000000000000:stateMachine:rp', JSON.stringify({ original: 1 }));
    expect(record.status).toBe('SUCCEEDED');
    expect(JSON.parse(record.output as string)).toMatchObject({ Error: 'Boom' });
    expect(Object.keys(JSON.parse(record.output as string)).sort()).toEqual(['Cause', 'Error']);
  });
});
