import * as path from 'node:path';
import { LambdaFunctionError, LambdaRuntime } from '../../../local/lambda/LambdaRuntime';
import { startTestCloud, type TestCloud } from '../../support/localCloud';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:LateWriter';

/**
 * Rule: when a function times out, Lambda stops its execution environment; nothing the handler
 * was still going to do happens ("Lambda function timeout", Lambda Developer Guide). Locally the
 * handler's promise cannot be stopped, but none of its later AWS calls leaves the process.
 */
describe('a timed-out function', () => {
  let t: TestCloud;
  let lambdas: LambdaRuntime;
  beforeAll(async () => {
    t = await startTestCloud();
    lambdas = new LambdaRuntime(
      [{ arn: ARN, name: 'LateWriter', module: path.join(__dirname, 'fixtures', 'lateWrite.ts'), timeoutMs: 300, memoryMb: 128, environment: {} }],
      {},
    );
  });
  afterAll(() => t.stop());

  const exists = (key: string) => [...t.cloud.store.keys(t.cloud.endpoints.buckets.staged, key)].length > 0;

  it('writes when it finishes in time (the control)', async () => {
    await expect(lambdas.invoke(ARN, { bucket: t.cloud.endpoints.buckets.staged, key: 'fidelity/in-time', delayMs: 10 })).resolves.toBe('written');
    expect(exists('fidelity/in-time')).toBe(true);
  });

  it('fails with Lambda.Unknown at its timeout, and its late write never appears', async () => {
    const invoked = lambdas.invoke(ARN, { bucket: t.cloud.endpoints.buckets.staged, key: 'fidelity/late', delayMs: 600 });
    await expect(invoked).rejects.toThrow(LambdaFunctionError);
    await expect(invoked).rejects.toMatchObject({ name: 'Lambda.Unknown', errorMessage: expect.stringContaining('Task timed out after 0.30 seconds') });
    await new Promise((r) => setTimeout(r, 1000)); // the handler has tried to write by now
    expect(exists('fidelity/late')).toBe(false);
  });
});
