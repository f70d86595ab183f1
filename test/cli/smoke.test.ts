import { injectFaults } from '../../local/LocalCloud';
import { cli } from '../support/cli';
import { startTestCloud, type TestCloud } from '../support/localCloud';

type Step = { step: string; ok: boolean | null; detail: string; cause?: string; fix?: string };

/** `npx clickstream smoke` against the local stack, as a platform engineer runs it after a deploy. */
describe('npx clickstream smoke', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 1 });
  });
  afterAll(() => t.stop());

  it('passes every step end to end: preflight, settings, send, retry, delivery, load, rows, verify', async () => {
    const res = await cli(['smoke', '--data-dir', t.dataDir, '--json']);
    const report = JSON.parse(res.stdout) as { ok: boolean; source: string; steps: Step[]; messageIds: string[] };
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual(
      ['preflight', 'settings', 'send', 'retry', 'delivery', 'load', 'rows', 'verify'].map((s) => [s, true]),
    );
    expect(report).toMatchObject({ ok: true, source: 'web' });
    expect(res.code).toBe(0);
    expect(report.messageIds.every((id) => id.startsWith('smoke-'))).toBe(true);
  }, 120_000);

  it('prints each step with its time in the table form', async () => {
    const res = await cli(['smoke', '--data-dir', t.dataDir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^✓ preflight +\d+\.\d\d s {2}CORS allows/m);
    expect(res.stdout).toMatch(/^✓ rows +\d+\.\d\d s {2}each event is in the warehouse exactly once/m);
    expect(res.stdout).toMatch(/Smoke test passed in \d+\.\d s\./);
  }, 120_000);

  it('fails with the step, the likely cause and the fix when the load fails', async () => {
    injectFaults(t.cloud, { lambda: [{ function: 'verify-load', times: 1000, error: 'Runtime.ExitError', when: 'before' }] });
    try {
      const res = await cli(['smoke', '--data-dir', t.dataDir, '--json']);
      expect(res.code).toBe(3);
      const report = JSON.parse(res.stdout) as { ok: boolean; steps: Step[] };
      const load = report.steps.find((s) => s.step === 'load');
      expect(load).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^the load FAILED: .*Lambda\.Unknown/),
        cause: 'a function timed out or crashed',
        fix: expect.stringContaining('Step Functions console'),
      });
      expect(report.steps.filter((s) => s.ok === null).map((s) => s.step)).toEqual(['rows', 'verify']);
    } finally {
      t.cloud.lambdas.faults.length = 0;
    }
  }, 120_000);

  it('says which write key is wrong, without a stack trace', async () => {
    const res = await cli(['smoke', '--data-dir', t.dataDir, '--write-key', 'not-a-real-key-000', '--json']);
    expect(res.code).toBe(3);
    const report = JSON.parse(res.stdout) as { steps: Step[] };
    expect(report.steps.find((s) => s.ok === false)).toMatchObject({ step: 'settings', cause: expect.stringContaining('write key') });
  }, 60_000);
});
