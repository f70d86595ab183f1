import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool, type PoolClient, types } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type BatchOutcome, BLOB_SOURCE, type LocalWarehouse, SIGN_IN_SETUP, type WarehouseResult, type WarehouseStatement } from './EmbeddedWarehouse';

/** Postgres's SQLSTATEs for a transaction that lost a race: it may succeed when run again. */
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK_DETECTED = '40P01';

/** Values come back as the embedded warehouse gives them: timestamps, dates and numerics as printed, BIGINT as a number. */
const AS_PRINTED = new Set([1114, 1184, 1082, 1700]);
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (AS_PRINTED.has(oid)) return (value: string) => value;
    if (oid === 20) return (value: string) => Number(value);
    return types.getTypeParser(oid, format as 'text');
  }) as typeof types.getTypeParser,
};

/**
 * The warehouse on a PostgreSQL server (`npm start -- --warehouse-url postgres://…`): batches run
 * at the same time on a pool of connections, each in one SERIALIZABLE transaction, so concurrent
 * loads really conflict — as on Redshift, where every transaction is serializable and a loser is
 * aborted with error 1023. The URL's user must be a superuser: it stands in for the namespace
 * admin, and creates the `IAMR:<role>` users on their first sign-in.
 */
export class ServerWarehouse implements LocalWarehouse {
  public readonly counters = { batches: 0, statements: 0, busyMs: 0, serializationFailures: 0 };
  public readonly concurrent = true;

  private constructor(
    private readonly pool: Pool,
    public readonly database: string,
  ) {}

  static async open(url: string, options: { readonly connections?: number } = {}): Promise<ServerWarehouse> {
    const pool = new Pool({
      connectionString: url,
      max: options.connections ?? 8,
      types: typeParsers,
      // Redshift joins by hashing or merging; see EmbeddedWarehouse.
      options: '-c enable_nestloop=off',
    });
    pool.on('error', () => undefined);
    let database: string;
    try {
      const { rows } = await pool.query<{ db: string; su: boolean }>(
        'SELECT current_database() AS db, rolsuper AS su FROM pg_roles WHERE rolname = current_user',
      );
      if (!rows[0]?.su) throw new Error('its user is not a superuser (it stands in for the namespace admin, and creates the database users of the IAM roles)');
      database = rows[0].db;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new Error(`The warehouse at ${redacted(url)} cannot be used: ${(e as Error).message}`, { cause: e });
    }
    const warehouse = new ServerWarehouse(pool, database);
    const setup = await warehouse.runBatch(SIGN_IN_SETUP.map((sql) => ({ sql, internal: true })));
    if (!setup.ok) {
      await pool.end().catch(() => undefined);
      throw new Error(`The warehouse at ${redacted(url)} did not open: ${setup.error.message}`);
    }
    return warehouse;
  }

  /** One transaction, SERIALIZABLE as every Redshift transaction; a failure rolls back all of it. */
  async runBatch(statements: ReadonlyArray<WarehouseStatement>): Promise<BatchOutcome> {
    this.counters.batches++;
    this.counters.statements += statements.filter((s) => !s.internal).length;
    const started = performance.now();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      return { ok: false, error: { message: `the warehouse server is unavailable: ${(e as Error).message}`, statementIndex: 0 } };
    }
    const results: WarehouseResult[] = [];
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      for (const st of statements) {
        results.push(st.blob ? await copyBlob(client, st) : await query(client, st));
      }
      await client.query('COMMIT');
      return { ok: true, results };
    } catch (e) {
      const err = e as Error & { code?: string };
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      if (err.code === SERIALIZATION_FAILURE || err.code === DEADLOCK_DETECTED) this.counters.serializationFailures++;
      // A failure at COMMIT (a serialization failure found then) belongs to the batch's last statement.
      return { ok: false, error: { message: err.message, code: err.code, statementIndex: Math.min(results.length, statements.length - 1) } };
    } finally {
      // Each Data API call is its own session on Redshift: temporary tables do not outlive it.
      await client.query('DISCARD TEMP').catch((e: Error) => (broken = e));
      client.release(broken);
      this.counters.busyMs += performance.now() - started;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function query(client: PoolClient, st: WarehouseStatement): Promise<WarehouseResult> {
  const res = await client.query({ text: st.sql, values: st.params as unknown[] | undefined, rowMode: 'array' });
  return {
    fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
    rows: res.rows as unknown[][],
    affectedRows: res.command === 'SELECT' ? 0 : (res.rowCount ?? 0),
    internal: Boolean(st.internal),
  };
}

/** `COPY … FROM '/dev/blob'` (the embedded warehouse's bulk input) is `COPY … FROM STDIN` on a server. */
async function copyBlob(client: PoolClient, st: WarehouseStatement): Promise<WarehouseResult> {
  if (!st.sql.includes(BLOB_SOURCE)) throw new Error(`a statement with bulk data must read it FROM ${BLOB_SOURCE}`);
  const stream = client.query(copyFrom(st.sql.replace(BLOB_SOURCE, 'STDIN')));
  await pipeline(Readable.from([st.blob as Buffer]), stream);
  return { fields: [], rows: [], affectedRows: Number(stream.rowCount ?? 0), internal: Boolean(st.internal) };
}

/** A connection URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
