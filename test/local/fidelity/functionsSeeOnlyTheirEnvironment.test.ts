import * as path from 'node:path';
import { LambdaRuntime } from '../../../local/lambda/LambdaRuntime';

const fn = (name: string, environment: Record<string, string>) => ({
  arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
  name,
  module: path.join(__dirname, 'fixtures', 'readEnv.ts'),
  timeoutMs: 5000,
  memoryMb: 128,
  environment,
});

/**
 * Rule: a Lambda function sees its own environment variables and no other function's ("Working
 * with Lambda environment variables"). Local mode runs every function in one process, and still
 * answers each invocation from its own function's environment.
 */
describe('each function sees only its own environment variables', () => {
  const lambdas = new LambdaRuntime([fn('Writer', { SECRET_OF_WRITER: 'w', SHARED_NAME: 'writer' }), fn('Reader', { SHARED_NAME: 'reader' })], {});
  const names = ['SECRET_OF_WRITER', 'SHARED_NAME', 'PATH'];

  it("gives each function its own values, hides the other's, and keeps the process's own variables", async () => {
    expect(await lambdas.invoke(fn('Writer', {}).arn, { names })).toEqual({ SECRET_OF_WRITER: 'w', SHARED_NAME: 'writer', PATH: process.env.PATH });
    expect(await lambdas.invoke(fn('Reader', {}).arn, { names })).toEqual({ SECRET_OF_WRITER: null, SHARED_NAME: 'reader', PATH: process.env.PATH });
  });

  it('sees a configuration change of its own function (UpdateFunctionConfiguration)', async () => {
    lambdas.setEnvironment('Reader', 'SHARED_NAME', 'changed');
    expect(await lambdas.invoke(fn('Reader', {}).arn, { names: ['SHARED_NAME'] })).toEqual({ SHARED_NAME: 'changed' });
  });

  it("leaves the test process outside any invocation without the functions' variables", () => {
    expect(process.env.SECRET_OF_WRITER).toBeUndefined();
  });
});
