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

/**
 * The embedded Postgres-compatible warehouse (PGlite) in a worker thread, so that opening it and
 * bulk loads never block the edge endpoint. Batches run one at a time, each in one transaction:
 * the semantics of a Redshift BatchExecuteStatement.
 */
export class EmbeddedWarehouse {
  private nextId = 1;
  private readonly pending = new Map<number, (outcome: BatchOutcome) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Batches run, for the cost model and tests. */
  public readonly counters = { batches: 0, statements: 0, busyMs: 0 };

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
    const ping = await warehouse.runBatch([{ sql: 'SELECT 1' }]);
    if (!ping.ok) throw new Error(`The local warehouse did not open in ${dataDir}: ${ping.error.message}`);
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
        this.worker.postMessage({ id, op: 'batch', statements: payload }, payload.filter((p) => p.blob).map((p) => p.blob as ArrayBuffer));
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
