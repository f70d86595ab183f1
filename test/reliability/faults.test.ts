import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { runExecution } from '../../lambdas/io/executions';
import { ObjectStore } from '../../lambdas/io/objects';
import { verifySource } from '../../lambdas/io/verification';
import { Warehouse } from '../../lambdas/io/warehouse';
import { type Endpoints, injectFaults } from '../../local/LocalCloud';
import type { FaultPlan } from '../../local/faults';
import { QUARANTINE_PREFIX } from '../../lib/constructs/Storage';
import { startTestCloud, type TestCloud } from '../support/localCloud';
import { REPO_ROOT } from '../support/synth';

/**
 * For each fault: traffic → loads → recovery (the workflow's retries, a re-run of the load, or a
 * restart of the stack), then accepted = loaded + discarded (verify), nothing lost, nothing doubled.
 * Prints the table: fault, injected, survived, lost, duplicated.
 */

interface Outcome {
  fault: string;
  recovery: string;
  injected: number;
  sent: number;
  loadRuns: number;
  failedLoads: number;
  lost: number;
  duplicated: number;
  verified: boolean;
}

const results: Outcome[] = [];
const CALL_TABLES = ['tracks', 'pages', 'identifies'];
const EVENTS = 240;

/** Traffic of one scenario: tracks (with an event table), pages and identifies, ids `<prefix>-<n>`. */
function traffic(prefix: string): Array<Record<string, unknown>> {
  return Array.from({ length: EVENTS }, (_, i) => {
    const messageId = `${prefix}-${i}`;
    if (i % 3 === 0) return { type: 'track', event: 'Reliability Checked', userId: `u${i % 7}`, properties: { n: i, ok: true }, messageId };
    if (i % 3 === 1) return { type: 'page', name: 'Home', anonymousId: `a${i % 5}`, properties: { path: '/' }, messageId };
    return { type: 'identify', userId: `u${i % 7}`, traits: { plan: i % 2 ? 'pro' : 'free', logins: i }, messageId };
  });
}

/** Posts batches as a Segment client does: retries 5xx with backoff until the collector acknowledges. */
async function send(endpoints: Endpoints, events: Array<Record<string, unknown>>): Promise<number> {
  const key = endpoints.sources.find((s) => s.name === 'web')?.writeKeys[0] as string;
  let retries = 0;
  for (let i = 0; i < events.length; i += 40) {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${endpoints.collector}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
        body: JSON.stringify({ batch: events.slice(i, i + 40) }),
      });
      if (res.status === 200) break;
      if (res.status < 500 || attempt > 10) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
      retries++;
      await new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 4)));
    }
  }
  return retries;
}

/** Runs loads until one finds nothing pending (a failed load is re-run, as the next scheduled tick does). */
async function loadUntilDone(sfn: SFNClient, endpoints: Endpoints): Promise<{ runs: number; failed: number }> {
  let runs = 0;
  let failed = 0;
  for (; runs < 8;) {
    runs++;
    const d = await runExecution(sfn, endpoints.stateMachines.load, { source: 'web' }, { maxIntervalMs: 50 });
    if (d.status !== 'SUCCEEDED') {
      failed++;
      continue;
    }
    if (JSON.parse(d.output ?? '{}').status === 'EMPTY') return { runs, failed };
  }
  throw new Error(`still loading after ${runs} runs`);
}

/** Lost and doubled messages of a scenario, and whether verify proves accepted = loaded + discarded. */
async function check(endpoints: Endpoints, prefix: string, events: Array<Record<string, unknown>>): Promise<Pick<Outcome, 'lost' | 'duplicated' | 'verified'>> {
  const config = { endpoint: endpoints.edge, region: endpoints.region, credentials: { accessKeyId: 'r', secretAccessKey: 'r' } };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const data = new RedshiftDataClient(config);
  try {
    const warehouse = new Warehouse(data, { workgroup: endpoints.warehouse.workgroupName, database: endpoints.warehouse.database });
    const expected = new Map<string, string>(
      events.map((e) => [String(e.messageId), e.type === 'track' ? 'tracks' : e.type === 'page' ? 'pages' : 'identifies']),
    );
    let lost = 0;
    let duplicated = 0;
    for (const table of [...CALL_TABLES, 'reliability_checked']) {
      const rows = await warehouse.query(`SELECT id, COUNT(*) AS n FROM web.${table} WHERE id LIKE :prefix GROUP BY id`, { prefix: `${prefix}-%` }, 'ids');
      const present = new Set(rows.map((r) => String(r.id)));
      duplicated += rows.filter((r) => Number(r.n) > 1).length;
      const want = [...expected].filter(([, t]) => t === table || (table === 'reliability_checked' && t === 'tracks')).map(([id]) => id);
      lost += want.filter((id) => !present.has(id)).length;
    }
    const now = Date.now();
    const report = await verifySource(
      { objects: new ObjectStore(s3), warehouse, rawBucket: endpoints.buckets.raw, quarantinePrefix: QUARANTINE_PREFIX },
      'web',
      new Date(now - 2 * 3_600_000),
      new Date(now + 3_600_000),
    );
    return { lost, duplicated, verified: report.ok };
  } finally {
    s3.destroy();
    data.destroy();
  }
}

describe('reliability: faults injected, nothing lost, nothing doubled', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
  });
  afterAll(async () => {
    await t?.stop();
    const rows = results.map((r) => ({
      fault: r.fault,
      recovery: r.recovery,
      injected: r.injected,
      survived: r.lost === 0 && r.duplicated === 0 && r.verified ? 'yes' : 'NO',
      lost: r.lost,
      duplicated: r.duplicated,
      'load runs (failed)': `${r.loadRuns} (${r.failedLoads})`,
    }));
    process.stdout.write(`\nReliability (${EVENTS} events per fault):\n`);
    console.table(rows);
  });

  /** One scenario on the shared stack: arm `plan`, send, flush, load until done, check. */
  async function scenario(fault: string, recovery: string, plan: FaultPlan, injected: () => number): Promise<void> {
    const prefix = `rel${results.length}`;
    const events = traffic(prefix);
    const sfn = t.clients.sfn;
    if (plan.firehoseFailRecords) injectFaults(t.cloud, plan);
    await send(t.cloud.endpoints, events);
    t.cloud.firehose.flushAll();
    if (!plan.firehoseFailRecords) injectFaults(t.cloud, plan);
    const loads = await loadUntilDone(sfn, t.cloud.endpoints);
    const outcome: Outcome = {
      fault,
      recovery,
      injected: injected(),
      sent: events.length,
      loadRuns: loads.runs,
      failedLoads: loads.failed,
      ...(await check(t.cloud.endpoints, prefix, events)),
    };
    results.push(outcome);
    expect(outcome.injected).toBeGreaterThan(0);
    expect(outcome).toMatchObject({ lost: 0, duplicated: 0, verified: true });
  }

  const s3Fired = () => t.cloud.s3.faults.rules.reduce((n, r) => n + r.fired, 0);
  const lambdaFired = () => t.cloud.lambdas.faults.reduce((n, r) => n + r.fired, 0);
  const firedSince = (fired: () => number) => {
    const before = fired();
    return () => fired() - before;
  };

  it('S3 throttles reads of raw objects (503 SlowDown)', async () => {
    await scenario('S3 503 SlowDown on raw reads', 'task retries', { s3: [{ method: 'GET', key: '^web/', times: 3, code: 'SlowDown' }] }, firedSince(s3Fired));
  }, 120_000);

  it('S3 fails writes of staged files (500 InternalError)', async () => {
    await scenario(
      'S3 500 on staged writes',
      'task retries',
      { s3: [{ method: 'PUT', key: '^loads/web/', times: 3, code: 'InternalError' }] },
      firedSince(s3Fired),
    );
  }, 120_000);

  it('Firehose fails records inside PutRecordBatch', async () => {
    const before = t.cloud.firehose.counters.records;
    await scenario(
      'Firehose partial failures',
      'collector retries, then client retries on 503',
      { firehoseFailRecords: 6 },
      () => 6 - t.cloud.firehose.faults.failRecords,
    );
    expect(t.cloud.firehose.counters.records).toBeGreaterThan(before);
  }, 120_000);

  it('a Data API statement fails in the middle of a table transaction', async () => {
    const fired = () => t.cloud.redshiftData.faults.statements.reduce((n, r) => n + r.fired, 0);
    await scenario(
      'statement fails mid-transaction (tracks)',
      'rollback, load re-run',
      { dataApiStatements: [{ sql: '^INSERT INTO "web"."tracks"', times: 1 }] },
      firedSince(fired),
    );
  }, 120_000);

  it('the warehouse goes away (Data API answers 500)', async () => {
    await scenario('warehouse unavailable (8 calls)', 'task retries', { warehouseUnavailableCalls: 8 }, () => t.cloud.redshiftData.faults.unavailable.fired);
  }, 120_000);

  it('Transform crashes', async () => {
    await scenario(
      'Transform crashes (Runtime.ExitError)',
      'task retry',
      { lambda: [{ function: 'transform', times: 1, error: 'Runtime.ExitError', when: 'before' }] },
      firedSince(lambdaFired),
    );
  }, 120_000);

  it('SubmitLoad times out after submitting its transaction', async () => {
    await scenario(
      'SubmitLoad times out after submitting',
      'task retry resubmits (idempotent)',
      { lambda: [{ function: 'submit-load', times: 1, error: 'Sandbox.Timedout', when: 'after' }] },
      firedSince(lambdaFired),
    );
  }, 120_000);

  it('VerifyAndCommit crashes after writing the ledger, three times (retries exhausted)', async () => {
    await scenario(
      'VerifyAndCommit crashes after its writes ×3',
      'load fails, re-run',
      { lambda: [{ function: 'verify-load', times: 3, error: 'Runtime.ExitError', when: 'after' }] },
      firedSince(lambdaFired),
    );
  }, 120_000);

  it('Transform times out three times (retries exhausted)', async () => {
    await scenario(
      'Transform times out ×3',
      'load fails, re-run',
      { lambda: [{ function: 'transform', times: 3, error: 'Sandbox.Timedout', when: 'after' }] },
      firedSince(lambdaFired),
    );
  }, 120_000);

  it('the local stack is killed (SIGKILL) with events buffered and again in the middle of a load, and restarted', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-kill-'));
    const start = () => startProcess(['--data-dir', dataDir, '--edge-port', '0', '--collector-port', '0', '--load-interval', '0', '--buffer-interval', '3600']);
    let kills = 0;
    try {
      const prefix = `rel${results.length}`;
      const events = traffic(prefix);
      let p = await start();
      await send(p.endpoints, events); // acknowledged, still in Firehose's buffer
      await kill(p.child);
      kills++;
      p = await start();
      const config = { endpoint: p.endpoints.edge, region: p.endpoints.region, credentials: { accessKeyId: 'r', secretAccessKey: 'r' } };
      let sfn = new SFNClient(config);
      // The WAL replayed the acknowledged events into Firehose's buffer; a clean stop delivers them.
      await stopProcess(p.child);
      p = await start();
      sfn.destroy();
      sfn = new SFNClient({ ...config, endpoint: p.endpoints.edge });
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: p.endpoints.stateMachines.load, input: JSON.stringify({ source: 'web' }) }),
      );
      await new Promise((r) => setTimeout(r, 700)); // mid-load
      const during = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      await kill(p.child);
      kills++;
      p = await start();
      sfn.destroy();
      sfn = new SFNClient({ ...config, endpoint: p.endpoints.edge });
      const loads = await loadUntilDone(sfn, p.endpoints);
      const outcome: Outcome = {
        fault: `SIGKILL with events buffered, and mid-load (${during.status === 'RUNNING' ? 'load running' : `load ${during.status}`})`,
        recovery: 'restart: Firehose WAL replayed, load re-run',
        injected: kills,
        sent: events.length,
        loadRuns: loads.runs,
        failedLoads: loads.failed,
        ...(await check(p.endpoints, prefix, events)),
      };
      sfn.destroy();
      await stopProcess(p.child);
      results.push(outcome);
      expect(outcome).toMatchObject({ lost: 0, duplicated: 0, verified: true });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

/** `npm start`'s program in its own process group; resolves with its endpoints once ready. */
function startProcess(args: string[]): Promise<{ child: ChildProcess; endpoints: Endpoints }> {
  const dataDir = args[args.indexOf('--data-dir') + 1];
  fs.rmSync(path.join(dataDir, 'endpoints.json'), { force: true });
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_ENDPOINT_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 90 s:\n${out}`)), 90_000);
    let ready = false;
    child.stdout?.on('data', () => {
      if (!ready && /^ready /m.test(out)) {
        ready = true; // read once: a clean stop removes endpoints.json while it still prints
        clearTimeout(timer);
        resolve({ child, endpoints: JSON.parse(fs.readFileSync(path.join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
}

/** SIGKILL to the whole process group: no shutdown code runs. Resolves once it is gone. */
function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    process.kill(-(child.pid as number), 'SIGKILL');
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    process.kill(-(child.pid as number), 'SIGINT');
  });
}
