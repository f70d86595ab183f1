import { runStatement, sql } from '../../support/pipeline';
import { startTestCloud, type TestCloud } from '../../support/localCloud';

/**
 * Rule: GETDATE() returns the start time of the current statement, SYSDATE the start of the
 * current transaction ("GETDATE function" / "SYSDATE function", Redshift Database Developer Guide).
 * One Data API batch is one transaction.
 */
describe('GETDATE and SYSDATE', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(() => t.stop());

  it('gives each statement of a transaction its own GETDATE(), and all of them one SYSDATE', async () => {
    const batch = await runStatement(t, [
      'CREATE TABLE IF NOT EXISTS public.clock (step INT, g TIMESTAMP, s TIMESTAMP)',
      'INSERT INTO public.clock SELECT 1, GETDATE(), SYSDATE',
      'SELECT pg_sleep(0.05)',
      'INSERT INTO public.clock SELECT 2, GETDATE(), SYSDATE',
    ]);
    expect(batch.Status).toBe('FINISHED');
    expect(await sql(t, 'SELECT COUNT(DISTINCT g) AS getdates, COUNT(DISTINCT s) AS sysdates FROM public.clock')).toEqual([[2, 1]]);
  });
});
