import * as path from 'node:path';
import { LambdaRuntime, MAX_SYNC_PAYLOAD_BYTES } from '../../../local/lambda/LambdaRuntime';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Big';

/** Rule: a synchronous invocation's request and response are at most 6 MB each ("Lambda quotas"). */
describe('Lambda synchronous payload quota (6 MB)', () => {
  const lambdas = new LambdaRuntime(
    [{ arn: ARN, name: 'Big', module: path.join(__dirname, 'fixtures', 'bigResult.ts'), timeoutMs: 10_000, memoryMb: 128, environment: {} }],
    {},
  );

  it('returns a response under the quota', async () => {
    await expect(lambdas.invoke(ARN, { bytes: 1024 })).resolves.toEqual({ blob: 'x'.repeat(1024) });
  });

  it('fails a response over it with Function.ResponseSizeTooLarge', async () => {
    await expect(lambdas.invoke(ARN, { bytes: MAX_SYNC_PAYLOAD_BYTES })).rejects.toMatchObject({ name: 'Function.ResponseSizeTooLarge' });
  });

  it('refuses a request over it with RequestEntityTooLargeException', async () => {
    await expect(lambdas.invoke(ARN, { bytes: 1, padding: 'x'.repeat(MAX_SYNC_PAYLOAD_BYTES) })).rejects.toMatchObject({
      name: 'RequestEntityTooLargeException',
    });
  });
});
