import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { SerializationConflictError, StatementFailedError, TransientError } from '../core/errors';

export interface WarehouseTarget {
  readonly workgroup?: string;
  readonly cluster?: string;
  readonly database: string;
  /** Sign in with this Secrets Manager secret (user name and password) instead of IAM temporary credentials. */
  readonly secretArn?: string;
}

export type Row = Record<string, string | number | boolean | null>;

/** Redshift's words for a transaction that lost a serializable-isolation race. */
const SERIALIZATION = /serializ|1023|conflict with concurrent transaction|could not serialize/i;

/** Maps a FAILED statement to the error the workflows act on. */
export function statementError(d: Pick<DescribeStatementCommandOutput, 'Error' | 'Id' | 'Status'>, what: string): Error {
  const message = d.Error ?? `statement ${d.Status}`;
  if (SERIALIZATION.test(message)) return new SerializationConflictError(`${what}: ${message}`, { statementId: d.Id });
  return new StatementFailedError(`${what}: ${message}`, { statementId: d.Id });
}

function transient(e: unknown): never {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const status = err.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || status === 429 || /Throttl|TooMany|ECONNRESET|ECONNREFUSED|ActiveStatementsExceeded/i.test(`${err.name} ${err.message}`)) {
    throw new TransientError(`Data API: ${err.message}`, {}, { cause: e });
  }
  throw e;
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'ABORTED']);

/**
 * Polls a statement (the wait doubling from `firstWaitMs` up to 1 s) until it is FINISHED, FAILED
 * or ABORTED, and returns its description: the one statement poller of the functions, the CLI,
 * the benchmarks and the tests. Throws a TransientError past `timeoutMs`.
 */
export async function waitForStatement(
  client: RedshiftDataClient,
  id: string,
  options: { readonly timeoutMs?: number; readonly firstWaitMs?: number; readonly what?: string } = {},
): Promise<DescribeStatementCommandOutput> {
  const timeoutMs = options.timeoutMs ?? 240_000;
  const deadline = Date.now() + timeoutMs;
  for (let wait = options.firstWaitMs ?? 50; ; wait = Math.min(wait * 2, 1000)) {
    let d: DescribeStatementCommandOutput;
    try {
      d = await client.send(new DescribeStatementCommand({ Id: id }));
    } catch (e) {
      transient(e);
    }
    if (TERMINAL.has(d.Status as string)) return d;
    if (Date.now() > deadline) throw new TransientError(`${options.what ?? 'statement'}: statement ${id} still ${d.Status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Statements through the Redshift Data API with IAM temporary credentials: submit (one
 * statement or a batch = one transaction), poll, read results. The workflows poll with Wait
 * states; `run` polls inside the function for short statements (catalog, DDL, ledger).
 */
export class Warehouse {
  constructor(
    private readonly client: RedshiftDataClient,
    private readonly target: WarehouseTarget,
  ) {}

  private get where() {
    return {
      WorkgroupName: this.target.workgroup,
      ClusterIdentifier: this.target.workgroup ? undefined : this.target.cluster,
      Database: this.target.database,
      SecretArn: this.target.secretArn,
    };
  }

  /** Submits statements as one transaction; returns the statement id. */
  async submit(sqls: string[], name?: string): Promise<string> {
    try {
      const res =
        sqls.length === 1
          ? await this.client.send(new ExecuteStatementCommand({ ...this.where, Sql: sqls[0], StatementName: name }))
          : await this.client.send(new BatchExecuteStatementCommand({ ...this.where, Sqls: sqls, StatementName: name }));
      return res.Id as string;
    } catch (e) {
      transient(e);
    }
  }

  async describe(id: string): Promise<DescribeStatementCommandOutput> {
    try {
      return await this.client.send(new DescribeStatementCommand({ Id: id }));
    } catch (e) {
      transient(e);
    }
  }

  /** Runs statements (one transaction) and waits for the end; throws a typed error on failure. */
  async run(sqls: string[], what: string, options: { timeoutMs?: number } = {}): Promise<DescribeStatementCommandOutput> {
    const id = await this.submit(sqls, what.slice(0, 500));
    return this.finished(id, what, { timeoutMs: options.timeoutMs });
  }

  /** Waits for a statement's end; a FAILED or ABORTED one throws its typed error. */
  private async finished(id: string, what: string, options: { timeoutMs?: number; firstWaitMs?: number } = {}): Promise<DescribeStatementCommandOutput> {
    const d = await waitForStatement(this.client, id, { ...options, what });
    if (d.Status !== 'FINISHED') throw statementError(d, what);
    return d;
  }

  /** Runs a query with named parameters and returns all rows as objects. */
  async query(sql: string, parameters: Record<string, string> = {}, what = 'query'): Promise<Row[]> {
    let id: string;
    try {
      const res = await this.client.send(
        new ExecuteStatementCommand({
          ...this.where,
          Sql: sql,
          Parameters: Object.entries(parameters).map(([name, value]) => ({ name, value })),
        }),
      );
      id = res.Id as string;
    } catch (e) {
      transient(e);
    }
    await this.finished(id, what, { firstWaitMs: 30 });
    return this.rows(id);
  }

  /** Runs statements as one transaction and returns the rows of the last one (a SELECT), so inputs can arrive by COPY. */
  async runQuery(sqls: string[], what: string): Promise<Row[]> {
    const d = await this.run(sqls, what);
    return this.rows(sqls.length === 1 ? (d.Id as string) : `${d.Id}:${sqls.length}`);
  }

  /** Rows affected by each statement of a finished batch (DescribeStatement's sub-statements). */
  static affectedRows(d: DescribeStatementCommandOutput): number[] {
    return d.SubStatements ? d.SubStatements.map((sub) => Number(sub.ResultRows ?? 0)) : [Number(d.ResultRows ?? 0)];
  }

  private async rows(id: string): Promise<Row[]> {
    const rows: Row[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new GetStatementResultCommand({ Id: id, NextToken: token }));
      const names = (page.ColumnMetadata ?? []).map((c) => c.name as string);
      for (const record of page.Records ?? []) rows.push(Object.fromEntries(record.map((f, i) => [names[i], fieldValue(f)])));
      token = page.NextToken;
    } while (token);
    return rows;
  }
}

function fieldValue(f: Field): string | number | boolean | null {
  if (f.isNull) return null;
  if (f.stringValue !== undefined) return f.stringValue;
  if (f.longValue !== undefined) return f.longValue;
  if (f.doubleValue !== undefined) return f.doubleValue;
  if (f.booleanValue !== undefined) return f.booleanValue;
  return null;
}
