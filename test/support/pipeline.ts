import {
  BatchExecuteStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { CALLER_HEADER } from '../../local/lambda/invocation';
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { runExecution as runAndWait } from '../../lambdas/io/executions';
import { waitForStatement } from '../../lambdas/io/warehouse';
import type { CfnTemplate } from '../../local/template';
import type { TestCloud } from './localCloud';

export type Value = string | number | boolean | null;

/** Posts one `/v1/batch` to the collector with the write key of `source`. */
export async function sendBatch(t: TestCloud, batch: unknown[], source = 'web'): Promise<void> {
  const key = t.cloud.endpoints.sources.find((s) => s.name === source)?.writeKeys[0] as string;
  for (let i = 0; i < batch.length; i += 2000) {
    const res = await fetch(`${t.cloud.endpoints.collector}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
      body: JSON.stringify({ batch: batch.slice(i, i + 2000) }),
    });
    if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
  }
  // What Firehose would deliver after its buffer interval.
  t.cloud.firehose.flushAll();
}

/** Runs a state machine execution through the real SFN client and waits for its end. */
export async function runExecution(t: TestCloud, stateMachineArn: string, input: unknown, timeoutMs = 120_000): Promise<DescribeExecutionCommandOutput> {
  return runAndWait(t.clients.sfn, stateMachineArn, input, { timeoutMs, maxIntervalMs: 50 });
}

/** Runs the load workflow and returns its summary; fails the test with the cause when it fails. */
export async function runLoad(t: TestCloud, input: Record<string, unknown> = { source: 'web' }): Promise<Record<string, unknown>> {
  const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, input);
  if (d.status !== 'SUCCEEDED') throw new Error(`load ${d.status}: ${d.error}: ${d.cause}`);
  return JSON.parse(d.output ?? '{}');
}

/**
 * Runs SQL through the real Data API client and returns rows as arrays of plain values: as an admin,
 * or `as` one of the stack's functions (its role's database user).
 */
export async function sql(t: TestCloud, query: string, options: { readonly as?: string } = {}): Promise<Value[][]> {
  const target = { WorkgroupName: t.cloud.endpoints.warehouse.workgroupName, Database: t.cloud.endpoints.warehouse.database };
  const client = options.as
    ? asFunction(
        new RedshiftDataClient({
          endpoint: t.cloud.endpoints.edge,
          region: t.cloud.endpoints.region,
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
        options.as,
      )
    : t.clients.data;
  try {
    return await rowsOf(client, await client.send(new ExecuteStatementCommand({ ...target, Sql: query })), query);
  } finally {
    if (options.as) client.destroy();
  }
}

async function rowsOf(client: RedshiftDataClient, { Id }: { Id?: string }, query: string): Promise<Value[][]> {
  const d = await waitForStatement(client, Id as string, { firstWaitMs: 20 });
  if (d.Status !== 'FINISHED') throw new Error(`${query}: ${d.Error}`);
  if (!d.HasResultSet) return [];
  const rows: Value[][] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new GetStatementResultCommand({ Id, NextToken }));
    for (const r of page.Records ?? []) rows.push(r.map((f) => (f.isNull ? null : (f.stringValue ?? f.longValue ?? f.doubleValue ?? f.booleanValue ?? null))));
    NextToken = page.NextToken;
  } while (NextToken);
  return rows;
}

/** A checksum of a whole table's content (all columns but the load time), order-independent. */
export async function tableChecksum(t: TestCloud, table: string, exclude: string[] = ['uuid_ts'], schema = 'web'): Promise<string> {
  const columns = (
    await sql(t, `SELECT column_name FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' ORDER BY column_name`)
  )
    .map((r) => String(r[0]))
    .filter((c) => !exclude.includes(c));
  const rows = await sql(
    t,
    `SELECT MD5(${columns.map((c) => `COALESCE(CAST("${c}" AS VARCHAR), '∅')`).join(" || '|' || ")}) AS h FROM "${schema}"."${table}" ORDER BY h`,
  );
  return `${rows.length}:${rows.map((r) => r[0]).join(',')}`;
}

/** Puts a raw object as Firehose would have delivered it: `<source>/YYYY/MM/DD/HH/<name>.gz` of enriched events. */
export async function putRawEvents(t: TestCloud, source: string, hour: string, name: string, events: Array<Record<string, unknown>>): Promise<string> {
  const { gzipSync } = await import('node:zlib');
  const d = new Date(hour);
  const key = `${source}/${d.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/')}/${name}.gz`;
  const receivedAt = new Date(d.getTime() + 60_000).toISOString();
  const lines = events.map((e) => JSON.stringify({ receivedAt, timestamp: receivedAt, ...e }));
  t.cloud.store.put(t.cloud.endpoints.buckets.raw, key, gzipSync(`${lines.join('\n')}\n`));
  return key;
}

/** Submits one statement (or a batch: one transaction) through the real Data API client and waits for its end, FAILED included. */
export async function runStatement(t: TestCloud, sql: string | string[]): Promise<DescribeStatementCommandOutput> {
  const target = { WorkgroupName: t.cloud.endpoints.warehouse.workgroupName, Database: t.cloud.endpoints.warehouse.database };
  const { Id } = Array.isArray(sql)
    ? await t.clients.data.send(new BatchExecuteStatementCommand({ ...target, Sqls: sql }))
    : await t.clients.data.send(new ExecuteStatementCommand({ ...target, Sql: sql }));
  return waitForStatement(t.clients.data, Id as string, { firstWaitMs: 20 });
}

/** A client that signs as a function of the stack would (its identity on every request). */
export function asFunction<T extends { middlewareStack: { add: (...a: never[]) => void } }>(client: T, functionId: string): T {
  (client.middlewareStack as unknown as { add(m: unknown, o: unknown): void }).add(
    (next: (a: { request: { headers: Record<string, string> } }) => unknown) => (args: { request: { headers: Record<string, string> } }) => {
      args.request.headers[CALLER_HEADER] = functionId;
      return next(args);
    },
    { step: 'build', name: 'localCaller' },
  );
  return client;
}

/** The logical id of the stack's function built from `lambdas/<dir>/handler.ts`. */
export const functionId = (template: CfnTemplate, dir: string): string =>
  Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['clickstream:handler'] === `lambdas/${dir}/handler.ts`,
  )?.[0] as string;
