import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface WarehouseStatement {
  readonly sql: string;
  readonly params?: ReadonlyArray<unknown>;
  /** Bulk data for `COPY … FROM '/dev/blob'`. */
  readonly blob?: Buffer;
  /** A helper statement of a translation, not one the caller wrote. */
  readonly internal?: boolean;
}

export interface WarehouseResult {
  readonly fields: ReadonlyArray<{ readonly name: string; readonly dataTypeID: number }>;
  readonly rows: ReadonlyArray<ReadonlyArray<unknown>>;
  readonly affectedRows: number;
  readonly internal: boolean;
}

export type BatchOutcome =
  | { readonly ok: true; readonly results: ReadonlyArray<WarehouseResult> }
  | { readonly ok: false; readonly error: { readonly message: string; readonly code?: string; readonly statementIndex: number } };

/** What a warehouse of local mode does: the embedded one (PGlite) or a PostgreSQL server. */
export interface LocalWarehouse {
  /** Runs statements in one transaction; a failure rolls back all of them. */
  runBatch(statements: ReadonlyArray<WarehouseStatement>): Promise<BatchOutcome>;
  close(): Promise<void>;
  /** The database the statements run in (`ON DATABASE <stack's database>` is translated to it). */
  readonly database: string;
  /** Whether transactions run at the same time (and can conflict, as on Redshift). */
  readonly concurrent: boolean;
  /** Batches run, for the cost model and tests. */
  readonly counters: { batches: number; statements: number; busyMs: number; serializationFailures: number };
}

/** Where a COPY of bulk data (`WarehouseStatement.blob`) reads it from. */
export const BLOB_SOURCE = "'/dev/blob'";

/** The schema of local mode's stand-ins for Redshift's own objects (`svv_roles`, sign-in). */
export const LOCAL_SYSTEM_SCHEMA = 'local_redshift';

/**
 * What Redshift Serverless does when an IAM identity signs in through the Data API ("Defining
 * database roles to grant to federated users in Amazon Redshift Serverless"): the database user
 * `IAMR:<role>` is created on first use, and each database role named in the IAM role's
 * `RedshiftDbRoles` tag that exists in the database is granted to it (others are ignored).
 * Users can log in, roles cannot: that is how `svv_roles` tells them apart here.
 */
export const SIGN_IN_SETUP = [
  `CREATE SCHEMA IF NOT EXISTS ${LOCAL_SYSTEM_SCHEMA}`,
  `CREATE OR REPLACE VIEW ${LOCAL_SYSTEM_SCHEMA}.svv_roles AS
     SELECT oid::int AS role_id, rolname::varchar(128) AS role_name, NULL::varchar(128) AS role_owner, NULL::varchar(128) AS external_id
     FROM pg_roles WHERE NOT rolcanlogin AND rolname NOT LIKE 'pg\\_%'`,
  `CREATE OR REPLACE FUNCTION ${LOCAL_SYSTEM_SCHEMA}.sign_in(db_user text, db_roles text[]) RETURNS void LANGUAGE plpgsql AS $$
   DECLARE r text;
   BEGIN
     -- Two first sign-ins at once (a PostgreSQL server runs batches concurrently): one creates, the other finds.
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = db_user) THEN
       BEGIN EXECUTE format('CREATE USER %I', db_user); EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
     END IF;
     FOREACH r IN ARRAY db_roles LOOP
       IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND NOT rolcanlogin) AND NOT pg_has_role(db_user, r, 'MEMBER') THEN
         BEGIN EXECUTE format('GRANT %I TO %I', r, db_user); EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
       END IF;
     END LOOP;
   END $$`,
  `GRANT USAGE ON SCHEMA ${LOCAL_SYSTEM_SCHEMA} TO PUBLIC`,
  `GRANT SELECT ON ${LOCAL_SYSTEM_SCHEMA}.svv_roles TO PUBLIC`,
];

/**
 * The embedded Postgres-compatible warehouse (PGlite) in a worker thread, so that opening it and
 * bulk loads never block the edge endpoint. Batches run one at a time, each in one transaction:
 * the semantics of a Redshift BatchExecuteStatement, without its concurrency (for that, see
 * `ServerWarehouse`).
 */
export class EmbeddedWarehouse implements LocalWarehouse {
  /** PGlite's one database. */
  public readonly database = 'postgres';
  /** One batch at a time: Redshift's serializable-isolation conflicts cannot happen here. */
  public readonly concurrent = false;
  private nextId = 1;
  private readonly pending = new Map<number, (outcome: BatchOutcome) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Batches run, for the cost model and tests. */
  public readonly counters = { batches: 0, statements: 0, busyMs: 0, serializationFailures: 0 };

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: BatchOutcome & { id: number }) => {
      const resolve = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      resolve?.(msg);
    });
    worker.on('error', (err) => {
      for (const resolve of this.pending.values()) resolve({ ok: false, error: { message: `warehouse worker failed: ${err.message}`, statementIndex: 0 } });
      this.pending.clear();
    });
  }

  static async open(dataDir: string): Promise<EmbeddedWarehouse> {
    fs.mkdirSync(dataDir, { recursive: true });
    const worker = new Worker(path.join(__dirname, 'pglite-worker.cjs'), { workerData: { dataDir } });
    const warehouse = new EmbeddedWarehouse(worker);
    const setup = await warehouse.runBatch(SIGN_IN_SETUP.map((sql) => ({ sql, internal: true })));
    if (!setup.ok) throw new Error(`The local warehouse did not open in ${dataDir}: ${setup.error.message}`);
    return warehouse;
  }

  /** Runs statements in one transaction; a failure rolls back all of them. */
  runBatch(statements: ReadonlyArray<WarehouseStatement>): Promise<BatchOutcome> {
    const run = () =>
      new Promise<BatchOutcome>((resolve) => {
        const id = this.nextId++;
        const started = performance.now();
        this.pending.set(id, (outcome) => {
          this.counters.busyMs += performance.now() - started;
          resolve(outcome);
        });
        this.counters.batches++;
        this.counters.statements += statements.filter((s) => !s.internal).length;
        const payload = statements.map((s) => ({
          sql: s.sql,
          params: s.params,
          internal: s.internal,
          blob: s.blob ? s.blob.buffer.slice(s.blob.byteOffset, s.blob.byteOffset + s.blob.byteLength) : undefined,
        }));
        this.worker.postMessage(
          { id, op: 'batch', statements: payload },
          payload.filter((p) => p.blob).map((p) => p.blob as ArrayBuffer),
        );
      });
    const result = this.queue.then(run, run);
    this.queue = result;
    return result;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await new Promise<void>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, () => resolve());
      this.worker.postMessage({ id, op: 'close' });
      setTimeout(resolve, 5000).unref();
    });
    await this.worker.terminate();
  }
}
