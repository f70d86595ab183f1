import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LambdaRuntime } from '../../../local/lambda/LambdaRuntime';
import { ObjectStore } from '../../../local/edge/objectStore';
import { MAX_PAYLOAD_BYTES, StepFunctionsService } from '../../../local/stepfunctions/StepFunctionsService';

const FN = 'arn:aws:lambda:us-east-1:000000000000:function:Big';
const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:quota';

/**
 * Rule: Step Functions fails an execution whose task result or state output exceeds 256 KiB with
 * States.DataLimitExceeded, and no Catch handles it — not even States.ALL.
 */
describe('Step Functions payload quota (256 KiB)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-quota-'));
  const lambdas = new LambdaRuntime(
    [{ arn: FN, name: 'Big', module: path.join(__dirname, 'fixtures', 'bigResult.ts'), timeoutMs: 10_000, memoryMb: 128, environment: {} }],
    {},
  );
  const definition = {
    StartAt: 'Produce',
    States: {
      Produce: {
        Type: 'Task',
        Resource: FN,
        Parameters: { 'bytes.$': '$.bytes' },
        ResultPath: '$.produced',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught', ResultPath: '$.error' }],
        Next: 'Done',
      },
      Caught: { Type: 'Pass', Result: 'caught', End: true },
      Done: { Type: 'Succeed' },
    },
  };
  const sfn = new StepFunctionsService(
    [{ arn: ARN, name: 'quota', definition: definition as never, roleArn: 'arn:aws:iam::000000000000:role/x', type: 'STANDARD' }],
    lambdas,
    new ObjectStore(path.join(dir, 's3')),
    path.join(dir, 'sfn'),
    { timeScale: 0.001, dynamicWaitMs: 1 },
  );
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lets a result just under the quota through', async () => {
    const record = await sfn.startAndWait(ARN, JSON.stringify({ bytes: MAX_PAYLOAD_BYTES - 1024 }));
    expect(record.status).toBe('SUCCEEDED');
  });

  it('fails the execution with States.DataLimitExceeded when a task returns more, past a States.ALL catch', async () => {
    const record = await sfn.startAndWait(ARN, JSON.stringify({ bytes: 300 * 1024 }));
    expect({ status: record.status, error: record.error }).toEqual({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(record.cause).toMatch(/The state\/task 'Produce' returned a result with a size of \d+ bytes, exceeding the maximum of 262144 bytes/);
    expect(record.output).toBeUndefined();
  });
});
