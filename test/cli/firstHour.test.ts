import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { DataDirLockedError, LOCK_FILE } from '../../local/dataDirLock';
import { startLocalCloud } from '../../local/LocalCloud';
import { cli } from '../support/cli';
import { localTemplate, startTestCloud, type TestCloud } from '../support/localCloud';
import { runLoad, sendBatch } from '../support/pipeline';

/** The first hour of a new user: the stumbles the README's commands must not have. */
describe('the first hour', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(() => t.stop());

  it('refuses a second stack on a data directory in use, naming the process that holds it', async () => {
    const second = startLocalCloud({
      dataDir: t.dataDir,
      edgePort: 0,
      collectorPort: 0,
      loadIntervalSeconds: 0,
      bufferIntervalSeconds: 1,
      template: localTemplate(),
    });
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(second).rejects.toThrow(`is in use by a running stack: process ${process.pid} on ${os.hostname()}`);
    // The running stack's endpoints were not overwritten.
    const endpoints = JSON.parse(fs.readFileSync(path.join(t.dataDir, 'endpoints.json'), 'utf8'));
    expect(endpoints.edge).toBe(t.cloud.endpoints.edge);
  });

  it('verify right after a load counts the events of the current hour', async () => {
    const now = new Date().toISOString();
    await sendBatch(
      t,
      Array.from({ length: 5 }, (_, i) => ({ type: 'track', event: 'First Hour', userId: 'u', messageId: `fh-${i}`, timestamp: now })),
    );
    await runLoad(t);
    const res = await cli(['verify', '--data-dir', t.dataDir, '--source', 'web', '--json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as { totals: { accepted: number; loaded: number }; hours: Array<{ hour: string; inFlight?: boolean }> };
    expect(report.totals).toMatchObject({ accepted: 5, loaded: 5 });
    const current = `${new Date().toISOString().slice(0, 13)}:00:00.000Z`;
    expect(report.hours).toContainEqual(expect.objectContaining({ hour: current, inFlight: true }));
  }, 60_000);

  it('rejects bad backfill input before any execution starts', async () => {
    const list = async () =>
      (await t.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.cloud.endpoints.stateMachines.backfill }))).executions ?? [];
    const before = (await list()).length;
    const cases: Array<[string[], string]> = [
      [['--source', 'nope', '--from', '2026-09-01T00:00Z', '--to', '2026-09-02T00:00Z'], 'Unknown source "nope"'],
      [['--source', 'web', '--from', '2026-09-02T00:00Z', '--to', '2026-09-01T00:00Z'], 'must be before "to"'],
      [['--source', 'web', '--from', '2020-01-01T00:00Z', '--to', '2026-09-01T00:00Z'], 'days per backfill (cdk.json: load.maxBackfillDays)'],
      [['--source', 'web', '--from', '2026-09-01T00:00Z', '--to', '2026-09-02T00:00Z', '--max-concurrency', '99'], 'over the ceiling of 8'],
    ];
    for (const [args, message] of cases) {
      const res = await cli(['backfill', '--data-dir', t.dataDir, ...args]);
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(message) });
      expect(res.stderr).not.toContain('windows'); // no progress bar was drawn
    }
    expect((await list()).length).toBe(before);
  }, 60_000);
});

describe('the CLI against a stack that is not running', () => {
  it('says so in one line with the command to start it, exit 1, no stack trace, fast — after a clean stop', async () => {
    const t = await startTestCloud();
    await t.stop({ keepData: true });
    try {
      expect(fs.existsSync(path.join(t.dataDir, 'endpoints.json'))).toBe(false);
      for (const command of [['status'], ['send', '--source', 'web', '--events', '10'], ['verify', '--source', 'web']]) {
        const started = Date.now();
        const res = await cli([...command, '--data-dir', t.dataDir]);
        const seconds = (Date.now() - started) / 1000;
        expect({ command, code: res.code, lines: res.stderr.trim().split('\n').length }).toEqual({ command, code: 1, lines: 1 });
        expect(res.stderr).toContain(`No local stack is running in ${t.dataDir}: start it with "npm start -- --data-dir ${t.dataDir}"`);
        expect(seconds).toBeLessThan(2);
      }
    } finally {
      fs.rmSync(t.dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('tells a stack that died (endpoints left behind, its process gone) from a running one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-dead-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'endpoints.json'),
        JSON.stringify({ edge: 'http://127.0.0.1:9', collector: 'http://127.0.0.1:9', sources: [], buckets: {}, stateMachines: {}, warehouse: {} }),
      );
      fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), startedAt: '2026-12-01T00:00:00Z' }));
      const res = await cli(['status', '--data-dir', dir]);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `The local stack in ${dir} is not running (its process ended without stopping cleanly): start it with "npm start -- --data-dir ${dir}" (or pass --data-dir, or --env <name> for a deployed environment).\n`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
