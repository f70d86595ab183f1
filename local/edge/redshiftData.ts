import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { LocalWarehouse, WarehouseResult, WarehouseStatement } from '../warehouse/EmbeddedWarehouse';
import { ADMIN_USER_ID } from '../iam/IamAuthorizer';
import type { FunctionIdentity } from '../iam/TemplateIam';
import { BLOB_SOURCE, LOCAL_SYSTEM_SCHEMA } from '../warehouse/EmbeddedWarehouse';
import { type CopyCommand, IdentifierAliases, segments, translate, UnsupportedSqlError, VARCHAR_BYTES_CONSTRAINT } from '../warehouse/translate';
import { AwsError, type EdgeRequest, type EdgeResponse, epochSeconds, jsonError, jsonResponse } from './http';
import type { ObjectStore } from './objectStore';
import { Countdown } from '../faults';

type Status = 'SUBMITTED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';

interface SubStatement {
  readonly id: string;
  readonly sql: string;
  status: Status;
  error?: string;
  result?: WarehouseResult;
  durationNs: number;
}

interface StatementRecord {
  readonly id: string;
  readonly batch: boolean;
  readonly database: string;
  readonly workgroup?: string;
  readonly cluster?: string;
  readonly statementName?: string;
  /** `aws:userid` of the identity that submitted it: DescribeStatement & co. are authorized against it. */
  readonly owner: string;
  /** The database user the statements run as; undefined: the namespace admin (a superuser). */
  readonly signIn?: SignIn;
  readonly createdAt: Date;
  updatedAt: Date;
  status: Status;
  error?: string;
  readonly subs: SubStatement[];
}

/** A database user and the database roles its IAM role's `RedshiftDbRoles` tag names. */
interface SignIn {
  readonly user: string;
  readonly roles: ReadonlyArray<string>;
}

/**
 * The database user Redshift Serverless maps a Data API caller to: `IAMR:<role name>` for an IAM
 * role's session, with the roles of its `RedshiftDbRoles` tag (colon-separated); with a
 * `SecretArn` the user of the secret — here always the namespace admin — and callers from outside
 * the stack (CLI, tests) are admins too.
 */
function signInOf(caller: FunctionIdentity | undefined, input: Record<string, unknown>): SignIn | undefined {
  if (!caller || input.SecretArn !== undefined) return undefined;
  return { user: `IAMR:${caller.roleName}`, roles: (caller.roleTags.RedshiftDbRoles ?? '').split(':').filter((r) => r !== '') };
}

/** What the Data API serves: the one workgroup (or cluster) and database of the stack. */
export interface DataApiTarget {
  readonly workgroupName: string;
  readonly database: string;
}

const MAX_SQL_BYTES = 100 * 1024;
const MAX_BATCH_SQLS = 40;
const PAGE_ROWS = 5000;
const KEEP_STATEMENTS = 20_000;

const REDSHIFT_TYPES: Record<number, string> = {
  16: 'bool',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  700: 'float4',
  701: 'float8',
  1043: 'varchar',
  1082: 'date',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  3802: 'super',
  114: 'super',
  19: 'name',
  18: 'char',
  1042: 'bpchar',
};

/**
 * The Redshift Data API over the embedded warehouse: ExecuteStatement (with named parameters),
 * BatchExecuteStatement (one transaction), DescribeStatement (with sub-statements),
 * GetStatementResult (paginated), CancelStatement, ListStatements. Statements run
 * asynchronously, as on AWS: callers poll DescribeStatement.
 */
export class RedshiftDataService {
  private readonly statements = new Map<string, StatementRecord>();
  private readonly aliases: IdentifierAliases;

  constructor(
    private readonly warehouse: LocalWarehouse,
    private readonly store: ObjectStore,
    private readonly target: DataApiTarget,
    private readonly aliasFile?: string,
    private readonly options: { readonly varcharBytes: boolean } = { varcharBytes: true },
  ) {
    this.aliases = new IdentifierAliases(
      aliasFile && fs.existsSync(aliasFile) ? (JSON.parse(fs.readFileSync(aliasFile, 'utf8')) as Array<[string, string]>) : [],
    );
  }

  /** Fault injection (see `local/faults.ts`): statements failing inside their transaction; calls answered 503. */
  public readonly faults: { statements: Array<Countdown<{ sql: string; times: number }>>; unavailable: Countdown<{ times: number }> } = {
    statements: [],
    unavailable: new Countdown({ times: 0 }),
  };

  /** Data API calls by action: what the cost model counts (the Data API itself has no charge). */
  public readonly counters = new Map<string, number>();

  async handle(req: EdgeRequest): Promise<EdgeResponse> {
    const op = String(req.headers['x-amz-target']).split('.')[1];
    this.counters.set(op, (this.counters.get(op) ?? 0) + 1);
    if (this.faults.unavailable.take()) return jsonError(new AwsError('InternalServerException', 'The warehouse is unavailable', 500));
    try {
      const input = JSON.parse(req.body.toString('utf8') || '{}');
      switch (op) {
        case 'ExecuteStatement':
          return jsonResponse(this.submit(input, [String(input.Sql ?? '')], false, req.caller, input.Parameters));
        case 'BatchExecuteStatement':
          if (input.Parameters) throw new AwsError('ValidationException', 'BatchExecuteStatement takes no Parameters');
          return jsonResponse(this.submit(input, Array.isArray(input.Sqls) ? input.Sqls.map(String) : [], true, req.caller));
        case 'DescribeStatement':
          return jsonResponse(this.describe(String(input.Id)));
        case 'GetStatementResult':
          return jsonResponse(this.result(String(input.Id), input.NextToken));
        case 'CancelStatement': {
          const record = this.record(String(input.Id));
          const cancellable = record.status === 'SUBMITTED';
          if (cancellable) this.finish(record, 'ABORTED', 'Statement was cancelled');
          return jsonResponse({ Status: cancellable });
        }
        case 'ListStatements':
          return jsonResponse({
            Statements: [...this.statements.values()]
              .reverse()
              .slice(0, Math.min(Number(input.MaxResults ?? 100), 100))
              .map((r) => ({
                Id: r.id,
                Status: r.status,
                QueryString: r.subs[0]?.sql,
                IsBatchStatement: r.batch,
                StatementName: r.statementName,
                CreatedAt: epochSeconds(r.createdAt),
                UpdatedAt: epochSeconds(r.updatedAt),
              })),
          });
        default:
          throw new AwsError('ValidationException', `Redshift Data API ${op} is not supported by the local edge`);
      }
    } catch (e) {
      if (e instanceof AwsError) return jsonError(e);
      if (e instanceof SyntaxError) return jsonError(new AwsError('SerializationException', e.message));
      throw e;
    }
  }

  /** Who submitted a statement (its `aws:userid`), for the IAM check of DescribeStatement & co. */
  ownerOf(id: string): string | undefined {
    return this.statements.get(id)?.owner;
  }

  private submit(
    input: Record<string, unknown>,
    sqls: string[],
    batch: boolean,
    caller: FunctionIdentity | undefined,
    parameters?: unknown,
  ): Record<string, unknown> {
    const workgroup = input.WorkgroupName as string | undefined;
    const cluster = input.ClusterIdentifier as string | undefined;
    if (!workgroup && !cluster) throw new AwsError('ValidationException', 'Either WorkgroupName or ClusterIdentifier is required');
    const name = workgroup ?? cluster;
    if (name !== this.target.workgroupName && !String(name).endsWith(`/${this.target.workgroupName}`)) {
      throw new AwsError('ResourceNotFoundException', `Workgroup ${name} not found; the local warehouse is ${this.target.workgroupName}`);
    }
    if (input.Database !== this.target.database) {
      throw new AwsError('ValidationException', `Database ${String(input.Database)} does not exist; the local warehouse database is ${this.target.database}`);
    }
    if (sqls.length === 0 || sqls.some((s) => s.trim() === '')) throw new AwsError('ValidationException', 'Sql must not be empty');
    if (batch && sqls.length > MAX_BATCH_SQLS) throw new AwsError('ValidationException', `BatchExecuteStatement takes at most ${MAX_BATCH_SQLS} statements`);
    for (const sql of sqls) {
      if (Buffer.byteLength(sql) > MAX_SQL_BYTES)
        throw new AwsError('ValidationException', `Statement is ${Buffer.byteLength(sql)} bytes; the Data API limit is 100 KB`);
    }
    // An injected failure: the matching statement fails inside the transaction, after those before it ran.
    for (const f of this.faults.statements) {
      const at = sqls.findIndex((sql) => new RegExp(f.rule.sql).test(sql));
      if (at >= 0 && f.take()) {
        sqls = [...sqls];
        sqls[at] = `SELECT 1 / 0 AS "injected fault: ${sqls[at].slice(0, 40).replace(/["\\]/g, '')}"`;
        break;
      }
    }
    const id = randomUUID();
    const now = new Date();
    const record: StatementRecord = {
      id,
      batch,
      database: this.target.database,
      workgroup,
      cluster,
      statementName: input.StatementName as string | undefined,
      owner: caller?.userId ?? ADMIN_USER_ID,
      signIn: signInOf(caller, input),
      createdAt: now,
      updatedAt: now,
      status: 'SUBMITTED',
      subs: sqls.map((sql, i) => ({ id: batch ? `${id}:${i + 1}` : id, sql, status: 'SUBMITTED', durationNs: 0 })),
    };
    this.statements.set(id, record);
    if (this.statements.size > KEEP_STATEMENTS) this.statements.delete(this.statements.keys().next().value as string);
    void this.run(record, parameters);
    return { Id: id, CreatedAt: epochSeconds(now), Database: record.database, WorkgroupName: workgroup, ClusterIdentifier: cluster };
  }

  private async run(record: StatementRecord, parameters: unknown): Promise<void> {
    await Promise.resolve();
    if (record.status !== 'SUBMITTED') return;
    record.status = 'STARTED';
    record.updatedAt = new Date();
    for (const sub of record.subs) sub.status = 'STARTED';
    const started = process.hrtime.bigint();
    // Translate every statement; COPY expands into helper statements around one bulk insert.
    const plan: Array<{ statement: WarehouseStatement; sub: number; copyTable?: string }> = [];
    const user = record.signIn ? quoteIdent(this.aliases.alias(record.signIn.user)) : undefined;
    if (record.signIn && user) {
      const { roles } = record.signIn;
      plan.push(
        {
          statement: {
            sql: `SELECT ${LOCAL_SYSTEM_SCHEMA}.sign_in($1, $2)`,
            params: [this.aliases.alias(record.signIn.user), roles.map((r) => this.aliases.alias(r))],
            internal: true,
          },
          sub: 0,
        },
        { statement: { sql: `SET LOCAL ROLE ${user}`, internal: true }, sub: 0 },
      );
    }
    let current = 0;
    try {
      for (; current < record.subs.length; current++) {
        const bound = record.batch ? { sql: record.subs[current].sql, params: undefined } : bindParameters(record.subs[current].sql, parameters);
        const known = this.aliases.entries().length;
        const t = translate(bound.sql, this.aliases, { ...this.options, database: this.target.database, localDatabase: this.warehouse.database });
        if (this.aliasFile && this.aliases.entries().length !== known) fs.writeFileSync(this.aliasFile, JSON.stringify(this.aliases.entries()));
        if (t.kind === 'sql') {
          plan.push({ statement: { sql: t.sql, params: bound.params }, sub: current });
          for (const sql of t.after ?? []) plan.push({ statement: { sql, internal: true }, sub: current });
        } else for (const statement of this.expandCopy(t.copy, current, user)) plan.push({ statement, sub: current, copyTable: t.copy.table });
      }
    } catch (e) {
      const message = e instanceof UnsupportedSqlError || e instanceof AwsError ? e.message : `ERROR: ${(e as Error).message}`;
      this.failSubs(record, current, message);
      return;
    }
    const outcome = await this.warehouse.runBatch(plan.map((p) => p.statement));
    const elapsed = Number(process.hrtime.bigint() - started);
    if (outcome.ok) {
      outcome.results.forEach((result, i) => {
        if (!result.internal) record.subs[plan[i].sub].result = result;
      });
      for (const sub of record.subs) {
        sub.status = 'FINISHED';
        sub.durationNs = Math.round(elapsed / record.subs.length);
      }
      this.finish(record, 'FINISHED');
    } else {
      const failed = plan[outcome.error.statementIndex];
      this.failSubs(record, failed?.sub ?? 0, `ERROR: ${redshiftMessage(outcome.error, failed?.copyTable, this.target.database, this.warehouse.database)}`);
    }
  }

  private failSubs(record: StatementRecord, failedSub: number, message: string): void {
    record.subs.forEach((sub, i) => {
      sub.status = i < failedSub ? 'FINISHED' : i === failedSub ? 'FAILED' : 'ABORTED';
      if (i === failedSub) sub.error = message;
      // A failed transaction keeps nothing: results of earlier statements are gone too.
      sub.result = undefined;
    });
    this.finish(record, 'FAILED', record.batch ? `Query #${failedSub + 1} failed with ${message}` : message);
  }

  private finish(record: StatementRecord, status: Status, error?: string): void {
    record.status = status;
    record.error = error;
    record.updatedAt = new Date();
  }

  /**
   * `COPY` → temp table of JSON lines, bulk COPY FROM '/dev/blob', one INSERT … SELECT. The bulk
   * read is the service's own work (Postgres lets only a superuser read a file), so it runs as the
   * session's superuser; the INSERT runs as the signed-in `user` and needs its privileges.
   */
  private expandCopy(copy: CopyCommand, index: number, user: string | undefined): WarehouseStatement[] {
    const [, bucket, keyOrPrefix] = /^s3:\/\/([^/]+)\/(.*)$/.exec(copy.from) as RegExpExecArray;
    let keys: Array<{ bucket: string; key: string }>;
    if (copy.manifest) {
      let manifest: { entries?: Array<{ url: string; mandatory?: boolean }> };
      try {
        manifest = JSON.parse(this.store.get(bucket, keyOrPrefix).body.toString('utf8'));
      } catch (e) {
        throw new UnsupportedSqlError(`ERROR: Problem reading manifest file ${copy.from}: ${(e as Error).message}`);
      }
      keys = (manifest.entries ?? []).flatMap((entry) => {
        const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(entry.url);
        if (!m) throw new UnsupportedSqlError(`ERROR: Manifest entry ${entry.url} is not an s3:// url`);
        try {
          this.store.head(m[1], m[2]);
        } catch {
          if (entry.mandatory)
            throw new UnsupportedSqlError(`ERROR: Manifest file is not in correct json format or mandatory file ${entry.url} does not exist`);
          return [];
        }
        return [{ bucket: m[1], key: m[2] }];
      });
    } else {
      keys = [...this.store.keys(bucket, keyOrPrefix)].map((o) => ({ bucket, key: o.key }));
      if (keys.length === 0) throw new UnsupportedSqlError(`ERROR: The specified S3 prefix '${keyOrPrefix}' does not exist`);
    }
    const parts = keys.map(({ bucket: b, key }) => {
      const body = this.store.get(b, key).body;
      const data = copy.gzip ? zlib.gunzipSync(body) : body;
      return data.length > 0 && data[data.length - 1] !== 0x0a ? Buffer.concat([data, Buffer.from('\n')]) : data;
    });
    let blob = Buffer.concat(parts);
    if (blob.includes('\n\n') || blob[0] === 0x0a) {
      blob = Buffer.from(
        blob
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .join('\n') + '\n',
      );
    }
    // JSON keys name columns; a column Postgres knows by its alias must be keyed by the alias too.
    const long = this.aliases.entries().filter(([, name]) => blob.includes(`"${name}":`));
    if (long.length > 0) {
      let text = blob.toString('utf8');
      for (const [alias, name] of long) text = text.split(`"${name}":`).join(`"${alias}":`);
      blob = Buffer.from(text, 'utf8');
    }
    const temp = `"__copy_${index}"`;
    const columns = copy.columns ? `(${copy.columns.join(', ')})` : '';
    const select = copy.columns ? copy.columns.map((c) => `r.${c}`).join(', ') : 'r.*';
    return [
      { sql: `CREATE TEMP TABLE ${temp} (line jsonb) ON COMMIT DROP`, internal: true },
      // Bytes 0x01/0x02 cannot occur in valid JSON text, so each line is one field, verbatim.
      ...(user ? [{ sql: 'SET LOCAL ROLE NONE', internal: true }] : []),
      { sql: `COPY ${temp} (line) FROM ${BLOB_SOURCE} WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`, blob, internal: true },
      ...(user ? [{ sql: `SET LOCAL ROLE ${user}`, internal: true }] : []),
      { sql: `INSERT INTO ${copy.table} ${columns} SELECT ${select} FROM ${temp} l, jsonb_populate_record(NULL::${copy.table}, l.line) r` },
    ];
  }

  private record(id: string): StatementRecord {
    const record = this.statements.get(id.split(':')[0]);
    if (!record) throw new AwsError('ResourceNotFoundException', `Query does not exist: ${id}`);
    return record;
  }

  private describe(id: string): Record<string, unknown> {
    const record = this.record(id);
    const describeSub = (sub: SubStatement) => ({
      Id: sub.id,
      Status: sub.status,
      QueryString: sub.sql,
      Error: sub.error,
      HasResultSet: Boolean(sub.result && sub.result.fields.length > 0),
      ResultRows: sub.result ? (sub.result.fields.length > 0 ? sub.result.rows.length : sub.result.affectedRows) : -1,
      ResultSize: 0,
      Duration: sub.durationNs,
      CreatedAt: epochSeconds(record.createdAt),
      UpdatedAt: epochSeconds(record.updatedAt),
      RedshiftQueryId: 0,
    });
    if (id.includes(':')) {
      const sub = record.subs.find((s) => s.id === id);
      if (!sub) throw new AwsError('ResourceNotFoundException', `Query does not exist: ${id}`);
      return describeSub(sub);
    }
    const first = describeSub(record.subs[0]);
    return {
      Id: record.id,
      Status: record.status,
      Error: record.error,
      Database: record.database,
      WorkgroupName: record.workgroup,
      ClusterIdentifier: record.cluster,
      QueryString: record.batch ? undefined : record.subs[0].sql,
      HasResultSet: record.batch ? false : first.HasResultSet,
      ResultRows: record.batch ? -1 : first.ResultRows,
      ResultSize: 0,
      Duration: record.subs.reduce((n, s) => n + s.durationNs, 0),
      CreatedAt: epochSeconds(record.createdAt),
      UpdatedAt: epochSeconds(record.updatedAt),
      RedshiftPid: 0,
      RedshiftQueryId: 0,
      SubStatements: record.batch ? record.subs.map(describeSub) : undefined,
    };
  }

  private result(id: string, nextToken: unknown): Record<string, unknown> {
    const record = this.record(id);
    if (record.batch && !id.includes(':'))
      throw new AwsError('ValidationException', `${id} is a batch statement: ask for one of its sub-statements (${id}:1, …)`);
    const sub = record.subs.find((s) => s.id === id);
    if (!sub || sub.status !== 'FINISHED')
      throw new AwsError(
        'ResourceNotFoundException',
        `Query does not have result. Please check query status with DescribeStatement (${sub?.status ?? 'unknown'})`,
      );
    if (!sub.result || sub.result.fields.length === 0) throw new AwsError('ResourceNotFoundException', 'Query does not have result.');
    const start = typeof nextToken === 'string' ? Number(Buffer.from(nextToken, 'base64url').toString()) : 0;
    const rows = sub.result.rows.slice(start, start + PAGE_ROWS);
    const fields = sub.result.fields;
    const end = start + rows.length;
    return {
      ColumnMetadata: fields.map((f) => ({
        name: this.aliases.original(f.name),
        label: f.name,
        typeName: REDSHIFT_TYPES[f.dataTypeID] ?? 'varchar',
        nullable: 1,
        isCaseSensitive: true,
        isSigned: true,
        precision: 0,
        scale: 0,
        schemaName: '',
        tableName: '',
      })),
      Records: rows.map((row) => row.map((value, i) => field(typeof value === 'string' ? this.aliases.original(value) : value, fields[i].dataTypeID))),
      TotalNumRows: sub.result.rows.length,
      NextToken: end < sub.result.rows.length ? Buffer.from(String(end)).toString('base64url') : undefined,
    };
  }
}

function field(value: unknown, typeId: number): Record<string, unknown> {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'bigint') return { longValue: Number(value) };
  if (typeof value === 'number') return typeId === 20 || typeId === 21 || typeId === 23 ? { longValue: value } : { doubleValue: value };
  if (value instanceof Date) return { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') };
  if (typeof value === 'object') return { stringValue: JSON.stringify(value) };
  return { stringValue: String(value) };
}

/**
 * Named parameters `:name` → `$n`, outside literals; values stay bound, never spliced into SQL.
 */
export function bindParameters(sql: string, parameters: unknown): { sql: string; params: unknown[] | undefined } {
  if (!Array.isArray(parameters) || parameters.length === 0) return { sql, params: undefined };
  const values = new Map<string, string>();
  for (const p of parameters as Array<{ name?: unknown; value?: unknown }>) {
    if (typeof p.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name))
      throw new AwsError('ValidationException', `Invalid parameter name ${String(p.name)}`);
    values.set(p.name, String(p.value));
  }
  const order: string[] = [];
  // Only code is rewritten: a ':name' inside a string literal or quoted identifier stays text.
  const out = segments(sql)
    .map((seg) =>
      seg.code
        ? seg.text.replace(/(?<!:):([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
            if (!values.has(name)) throw new AwsError('ValidationException', `No value given for parameter :${name}`);
            let n = order.indexOf(name);
            if (n < 0) n = order.push(name) - 1;
            return `$${n + 1}`;
          })
        : seg.text,
    )
    .join('');
  return { sql: out, params: order.map((n) => values.get(n)) };
}

/** Postgres's words for a failure, as Redshift says it where the two differ (`copyTable`: the failed statement was a COPY into it). */
function redshiftMessage(
  error: { readonly message: string; readonly code?: string },
  copyTable: string | undefined,
  database: string,
  localDatabase: string,
): string {
  const { message } = error;
  // A transaction that lost a race (a PostgreSQL server's SERIALIZABLE isolation): Redshift's error
  // 1023 ("Troubleshooting serializable isolation errors"), with what Postgres said after it.
  if (error.code === '40001' || error.code === '40P01') return `1023 DETAIL: Serializable isolation violation on table in Redshift (${message})`;
  const tooLong = VARCHAR_BYTES_CONSTRAINT.exec(message);
  if (tooLong) {
    return copyTable
      ? `Load into table '${copyTable}' failed. Check 'sys_load_error_detail' system table for details. (String length exceeds DDL length: VARCHAR(${tooLong[1]}) holds ${tooLong[1]} bytes)`
      : `value too long for type character varying(${tooLong[1]}) (Redshift counts bytes)`;
  }
  // The local warehouse's database has its own name; errors name the stack's database, as Redshift's do.
  return message.split(`for database ${localDatabase}`).join(`for database ${database}`);
}

/** A database user or role name as a quoted identifier (names come from the template: `IAMR:<role>`). */
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
