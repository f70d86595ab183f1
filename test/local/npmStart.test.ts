import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { Analytics } from '@segment/analytics-node';
import { REPO_ROOT } from '../support/synth';
import type { Endpoints } from '../../local/LocalCloud';

/** Starts `npm start` as a user would, and resolves when it prints its `ready` line. */
function npmStart(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready in 90 s:\n${out}`)), 90_000);
    child.stdout?.on('data', () => {
      if (/^ready /m.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
}

/** Ctrl-C: SIGINT to the whole process group, as a terminal sends it; resolves once every process closed its output. */
function stop(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve) => {
    child.once('close', () => resolve(output()));
    process.kill(-(child.pid as number), 'SIGINT');
  });
}

describe('npm start (end to end)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-e2e-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('runs the stack: analytics-node events → scheduled load → rows through the Data API; a restart keeps them', async () => {
    const args = ['--data-dir', dataDir, '--edge-port', '0', '--collector-port', '0', '--load-interval', '2', '--buffer-interval', '1'];
    const first = await npmStart(args);
    const endpoints = JSON.parse(fs.readFileSync(path.join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
    expect(endpoints).toMatchObject({
      region: 'us-east-1',
      sources: [
        { name: 'web', writeKeys: ['local-web-write-key'] },
        { name: 'app', writeKeys: ['local-app-write-key'] },
      ],
      warehouse: { workgroupName: 'clickstream-local-wg', database: 'clickstream' },
      stateMachines: {
        load: expect.stringMatching(/^arn:aws:states:us-east-1:\d{12}:stateMachine:clickstream-local-load$/),
        backfill: expect.stringContaining('backfill'),
      },
    });
    expect(endpoints.edge).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const analytics = new Analytics({ writeKey: 'local-web-write-key', host: endpoints.collector, flushAt: 10, flushInterval: 50 });
    for (let i = 0; i < 10; i++) analytics.track({ userId: `e2e-${i}`, event: 'E2E Checked', properties: { i }, messageId: `e2e-${i}` });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    await analytics.closeAndFlush();
    expect(errors).toEqual([]);

    const data = new RedshiftDataClient({ endpoint: endpoints.edge, region: endpoints.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const query = async (sql: string) => {
      const { Id } = await data.send(
        new ExecuteStatementCommand({ WorkgroupName: endpoints.warehouse.workgroupName, Database: endpoints.warehouse.database, Sql: sql }),
      );
      for (;;) {
        const d = await data.send(new DescribeStatementCommand({ Id }));
        if (d.Status === 'FAILED') return undefined;
        if (d.Status === 'FINISHED') return (await data.send(new GetStatementResultCommand({ Id }))).Records?.[0]?.[0]?.longValue;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const deadline = Date.now() + 60_000;
    let count: number | undefined;
    while (Date.now() < deadline && count !== 10) {
      count = await query('SELECT COUNT(*) FROM web.e2e_checked');
      if (count !== 10) await new Promise((r) => setTimeout(r, 500));
    }
    expect(count).toBe(10);
    data.destroy();
    expect(await stop(first.child, first.output)).toContain(`stopped; all state is kept in ${dataDir}`);

    const second = await npmStart(args);
    const again = JSON.parse(fs.readFileSync(path.join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints;
    const data2 = new RedshiftDataClient({ endpoint: again.edge, region: again.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const { Id } = await data2.send(
      new ExecuteStatementCommand({
        WorkgroupName: again.warehouse.workgroupName,
        Database: again.warehouse.database,
        Sql: 'SELECT COUNT(*) FROM web.e2e_checked',
      }),
    );
    let rows;
    for (;;) {
      const d = await data2.send(new DescribeStatementCommand({ Id }));
      if (d.Status === 'FINISHED') {
        rows = (await data2.send(new GetStatementResultCommand({ Id }))).Records;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows).toEqual([[{ longValue: 10 }]]);
    data2.destroy();
    await stop(second.child, second.output);
  }, 240_000);

  it('explains a bad flag and exits 2', async () => {
    const child = spawn('npm', ['start', '--', '--edge-port', 'abc'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr?.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(out).toContain('--edge-port must be a non-negative number, got "abc"');
  }, 60_000);
});
