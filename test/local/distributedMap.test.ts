import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectStore } from '../../local/edge/objectStore';
import { LambdaRuntime } from '../../local/lambda/LambdaRuntime';
import type { MachineDef } from '../../local/stepfunctions/prepare';
import { StepFunctionsService } from '../../local/stepfunctions/StepFunctionsService';

/**
 * The local rewrite of a Distributed Map (S3 JSON ItemReader, ItemBatcher, MaxConcurrencyPath,
 * ToleratedFailurePercentagePath) behaves as AWS does: bounded concurrency, failures tolerated up
 * to the threshold, States.ExceedToleratedFailureThreshold beyond it.
 */
describe('local Distributed Map', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmap-'));
  const store = new ObjectStore(path.join(dir, 's3'));
  const fnArn = 'arn:aws:lambda:us-east-1:000000000000:function:Work';
  const module = path.join(dir, 'work.js');
  // Each item sleeps a little and records how many run at once; items marked "fail" throw.
  fs.writeFileSync(
    module,
    `
    let running = 0; exports.peak = 0;
    exports.handler = async (event) => {
      running++; exports.peak = Math.max(exports.peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      if (event.Items.some((i) => i.fail)) { const e = new Error('item failed'); e.name = 'ItemFailed'; throw e; }
      return { n: event.Items.length };
    };`,
  );
  const lambdas = new LambdaRuntime([{ arn: fnArn, name: 'Work', module, timeoutMs: 10_000, memoryMb: 128, environment: {} }], {});
  const definition: MachineDef = {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'items', 'Key.$': '$.key' } },
        ItemBatcher: { MaxItemsPerBatchPath: '$.perBatch', BatchInput: { 'tag.$': '$.tag' } },
        MaxConcurrencyPath: '$.concurrency',
        ToleratedFailurePercentagePath: '$.tolerated',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Work',
          States: { Work: { Type: 'Task', Resource: fnArn, End: true } },
        },
        ResultPath: '$.results',
        End: true,
      },
    },
  };
  const sfn = new StepFunctionsService(
    [{ arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:dmap', name: 'dmap', definition, roleArn: 'r', type: 'STANDARD' }],
    lambdas,
    store,
    path.join(dir, 'sfn'),
    { timeScale: 0.001, dynamicWaitMs: 10 },
  );
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = async (items: unknown[], input: Record<string, unknown>) => {
    store.createBucket('items');
    store.put('items', 'list.json', Buffer.from(JSON.stringify(items)));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const work = require(module) as { peak: number };
    work.peak = 0;
    const record = await sfn.startAndWait('arn:aws:states:us-east-1:000000000000:stateMachine:dmap', JSON.stringify({ key: 'list.json', ...input }));
    return { record, peak: work.peak };
  };

  it('reads the items from S3, batches them with BatchInput and keeps MaxConcurrency', async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ i }));
    const { record, peak } = await run(items, { perBatch: 2, concurrency: 3, tolerated: 0, tag: 'x' });
    expect(record.status).toBe('SUCCEEDED');
    expect(JSON.parse(record.output as string).results).toEqual(Array.from({ length: 10 }, () => ({ n: 2 })));
    expect(peak).toBe(3);
  });

  it('tolerates failures up to the percentage and fails beyond it', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ i, fail: i === 0 }));
    const within = await run(items, { perBatch: 1, concurrency: 4, tolerated: 10, tag: 'x' });
    expect(within.record.status).toBe('SUCCEEDED');
    expect(JSON.parse(within.record.output as string).results).toHaveLength(9);
    const beyond = await run(items, { perBatch: 1, concurrency: 4, tolerated: 5, tag: 'x' });
    expect(beyond.record).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(beyond.record.cause).toMatch(/^The specified tolerated failure threshold was exceeded: 1 of 10 items failed \(first: ItemFailed/);
  });
});
