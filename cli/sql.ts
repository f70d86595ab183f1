import { ExecuteStatementCommand, type Field, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { waitForStatement } from '../lambdas/io/warehouse';
import { table } from './format';
import { clientConfig, type Target } from './target';
import { SQL_HELP } from './help';

export { SQL_HELP };

const value = (f: Field) => (f.isNull ? null : (f.stringValue ?? f.longValue ?? f.doubleValue ?? f.booleanValue ?? null));

export async function runSql(
  target: Target,
  statement: string,
  json: boolean,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (!target.warehouse) throw new Error('This target does not name its warehouse');
  const client = new RedshiftDataClient(clientConfig(target));
  try {
    const where = target.warehouse.workgroupName
      ? { WorkgroupName: target.warehouse.workgroupName }
      : { ClusterIdentifier: target.warehouse.clusterIdentifier };
    const { Id } = await client.send(new ExecuteStatementCommand({ ...where, Database: target.warehouse.database, Sql: statement }));
    const d = await waitForStatement(client, Id as string, { timeoutMs: 3600_000, what: 'sql' });
    if (d.Status !== 'FINISHED') {
      err.write(`${d.Error ?? d.Status}\n`);
      return 4;
    }
    if (!d.HasResultSet) {
      if (json) out.write(`${JSON.stringify({ rows: d.ResultRows })}\n`);
      else out.write(`${d.ResultRows ?? 0} rows\n`);
      return 0;
    }
    const rows: unknown[][] = [];
    let names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(new GetStatementResultCommand({ Id, NextToken }));
      names = (page.ColumnMetadata ?? []).map((c) => c.name as string);
      for (const r of page.Records ?? []) rows.push(r.map(value));
      NextToken = page.NextToken;
    } while (NextToken);
    if (json)
      out.write(
        `${JSON.stringify(
          rows.map((r) => Object.fromEntries(r.map((v, i) => [names[i], v]))),
          null,
          2,
        )}\n`,
      );
    else out.write(`${table([names, ...rows.map((r) => r.map((v) => (v === null ? 'NULL' : String(v))))])}\n(${rows.length} rows)\n`);
    return 0;
  } finally {
    client.destroy();
  }
}
