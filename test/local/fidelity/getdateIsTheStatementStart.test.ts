import { BatchExecuteStatementCommand, DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand } from '@aws-sdk/client-redshift-data';
import { eventually, startTestCloud, type TestCloud } from '../../support/localCloud';

/**
 * Rule: GETDATE() returns the start time of the current statement, SYSDATE the start of the
 * current transaction ("GETDATE function" / "SYSDATE function", Redshift Database Developer Guide).
 * One Data API batch is one transaction.
 */
describe('GETDATE and SYSDATE', () => {
  let t: TestCloud;
  let target: { WorkgroupName: string; Database: string };
  beforeAll(async () => {
    t = await startTestCloud();
    target = { WorkgroupName: t.cloud.endpoints.warehouse.workgroupName, Database: t.cloud.endpoints.warehouse.database };
  });
  afterAll(() => t.stop());

  const done = (Id: string) => eventually(async () => {
    const d = await t.clients.data.send(new DescribeStatementCommand({ Id }));
    if (d.Status === 'FAILED') throw new Error(String(d.Error));
    return d.Status === 'FINISHED' ? d : undefined;
  }, 30_000, 'statement');

  it('gives each statement of a transaction its own GETDATE(), and all of them one SYSDATE', async () => {
    const batch = await t.clients.data.send(new BatchExecuteStatementCommand({
      ...target,
      Sqls: [
        'CREATE TABLE IF NOT EXISTS public.clock (step INT, g TIMESTAMP, s TIMESTAMP)',
        'INSERT INTO public.clock SELECT 1, GETDATE(), SYSDATE',
        'SELECT pg_sleep(0.05)',
        'INSERT INTO public.clock SELECT 2, GETDATE(), SYSDATE',
      ],
    }));
    await done(batch.Id as string);
    const q = await t.clients.data.send(new ExecuteStatementCommand({ ...target, Sql: 'SELECT COUNT(DISTINCT g) AS getdates, COUNT(DISTINCT s) AS sysdates FROM public.clock' }));
    await done(q.Id as string);
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: q.Id }));
    expect(result.Records?.[0]).toEqual([{ longValue: 2 }, { longValue: 1 }]);
  });
});
