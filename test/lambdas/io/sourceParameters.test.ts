import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EdgeServer, type EdgeServices } from '../../../local/edge/EdgeServer';
import { SsmService } from '../../../local/edge/ssm';
import { TransientError } from '../../../lambdas/core/errors';
import { sourceParameterValue, writeKeyDigest } from '../../../lambdas/core/sourceDirectory';
import { readSourceEntries, sourceDirectory } from '../../../lambdas/io/sourceParameters';

const PATH = '/clickstream-unit/sources';
const entry = (i: number) => ({
  name: `s${i}`,
  value: sourceParameterValue({ name: `s${i}`, writeKeys: [`key-${i}`], stream: `stream-${i}`, collect: true }),
  type: 'String',
});

/** The sources' parameters read through the real SSM client from the local Parameter Store (pages of 10). */
describe('sources from Parameter Store', () => {
  let edge: EdgeServer;
  let ssm: SSMClient;
  beforeAll(async () => {
    edge = new EdgeServer({
      ssm: new SsmService([
        ...Array.from({ length: 23 }, (_, i) => entry(i)).map((e) => ({ ...e, name: `${PATH}/${e.name}` })),
        { name: '/clickstream-unit/other', value: 'x', type: 'String' },
      ]),
    } as unknown as EdgeServices);
    const port = await edge.listen(0);
    ssm = new SSMClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    ssm.destroy();
    await edge.close();
  });

  it('reads every page, and only the path asked for', async () => {
    const entries = await readSourceEntries(ssm, PATH);
    expect(entries.map((e) => e.name).sort()).toEqual(Array.from({ length: 23 }, (_, i) => `s${i}`).sort());
    expect(entries[0].keys).toEqual([writeKeyDigest(`key-${entries[0].name.slice(1)}`)]);
  });

  it('finds a source by its key, keeps what it read for cacheSeconds, then reads again', async () => {
    const t0 = 1_000_000_000_000;
    const first = await sourceDirectory(ssm, PATH, 60, () => undefined, t0);
    expect(first.sourceForKey('key-7')?.stream).toBe('stream-7');
    expect(first.sourceForKey('key-77')).toBeUndefined();
    await ssm.send(
      new PutParameterCommand({
        Name: `${PATH}/s7`,
        Value: sourceParameterValue({ name: 's7', writeKeys: ['key-7', 'rotated-7'], stream: 'stream-7', collect: true }),
        Overwrite: true,
      }),
    );
    expect((await sourceDirectory(ssm, PATH, 60, () => undefined, t0 + 59_000)).sourceForKey('rotated-7')).toBeUndefined();
    expect((await sourceDirectory(ssm, PATH, 60, () => undefined, t0 + 60_000)).sourceForKey('rotated-7')?.name).toBe('s7');
  });

  it('keeps serving what it read when Parameter Store cannot be reached, and fails as transient without any copy', async () => {
    const down = new SSMClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const t0 = 2_000_000_000_000;
    await sourceDirectory(ssm, PATH, 60, () => undefined, t0);
    const warnings: Error[] = [];
    const stale = await sourceDirectory(down, PATH, 60, (e) => warnings.push(e), t0 + 61_000);
    expect(stale.sourceForKey('key-7')?.name).toBe('s7');
    expect(warnings).toHaveLength(1);
    // It does not ask again on every request meanwhile: the next try is cacheSeconds later.
    await sourceDirectory(down, PATH, 60, (e) => warnings.push(e), t0 + 62_000);
    expect(warnings).toHaveLength(1);
    await expect(sourceDirectory(down, '/clickstream-unit/never-read', 60, (e) => warnings.push(e), t0)).rejects.toBeInstanceOf(TransientError);
    down.destroy();
  });

  it('refuses a malformed entry, naming the parameter', async () => {
    await ssm.send(
      new PutParameterCommand({ Name: `${PATH}/s3`, Value: '{"name":"s3","keys":["not-a-digest"],"stream":"x","collect":true}', Overwrite: true }),
    );
    await expect(readSourceEntries(ssm, PATH)).rejects.toThrow(`Source parameter ${PATH}/s3: keys.0:`);
  });
});
