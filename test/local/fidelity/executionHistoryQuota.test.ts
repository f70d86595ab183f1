import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LambdaRuntime } from '../../../local/lambda/LambdaRuntime';
import { ObjectStore } from '../../../local/edge/objectStore';
import { MAX_HISTORY_EVENTS, StepFunctionsService } from '../../../local/stepfunctions/StepFunctionsService';

const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:history';

/**
 * Rule: an execution whose history reaches 25,000 events fails with States.Runtime, the
 * 25,000th event being ExecutionFailed. A Pass + Choice loop writes 4 events per turn on AWS
 * (PassStateEntered/Exited, ChoiceStateEntered/Exited), plus ExecutionStarted and the final
 * Succeed state's two: `turns` turns make 3 + 4 × turns events before the execution's end.
 */
describe('Step Functions history quota (25,000 events)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-history-'));
  const definition = {
    StartAt: 'Turn',
    States: {
      Turn: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)', 'turns.$': '$.turns' }, Next: 'Again' },
      Again: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericLessThanPath: '$.turns', Next: 'Turn' }], Default: 'Done' },
      Done: { Type: 'Succeed' },
    },
  };
  const sfn = new StepFunctionsService(
    [{ arn: ARN, name: 'history', definition: definition as never, roleArn: 'arn:aws:iam::000000000000:role/x', type: 'STANDARD' }],
    new LambdaRuntime([], {}),
    new ObjectStore(path.join(dir, 's3')),
    path.join(dir, 'sfn'),
    { timeScale: 0.001, dynamicWaitMs: 1 },
  );
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The most turns whose history (3 + 4 × turns) stays below the 24,999 events an execution may
  // write itself (strict: whether AWS lets ExecutionSucceeded be the 25,000th is not documented).
  const mostTurns = Math.floor((MAX_HISTORY_EVENTS - 2 - 3) / 4);

  it('lets an execution end whose history stays within the quota', async () => {
    const record = await sfn.startAndWait(ARN, JSON.stringify({ n: 0, turns: mostTurns }));
    expect(record.status).toBe('SUCCEEDED');
    expect(record.awsHistoryEvents).toBe(3 + 4 * mostTurns);
  }, 120_000);

  it('fails the execution with States.Runtime when its history reaches 25,000 events', async () => {
    const record = await sfn.startAndWait(ARN, JSON.stringify({ n: 0, turns: mostTurns + 1 }));
    expect({ status: record.status, error: record.error, cause: record.cause }).toEqual({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'The execution reached the maximum number of history events (25000).',
    });
    expect(record.awsHistoryEvents).toBe(MAX_HISTORY_EVENTS - 1);
  }, 120_000);
});
