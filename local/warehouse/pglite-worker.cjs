// The embedded warehouse, off the event loop: a PGlite (Postgres in WASM) database in a worker
// thread. It runs batches of statements in one transaction and answers with rows as arrays.
// Bulk data (COPY) arrives as a transferred ArrayBuffer and is read with COPY FROM '/dev/blob'.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

let db;

async function open() {
  const { PGlite } = await import('@electric-sql/pglite');
  const identity = (value) => value;
  // Timestamps and numerics come back as Postgres prints them, like the Data API's stringValue.
  const parsers = { 1114: identity, 1184: identity, 1082: identity, 1700: identity, 20: (v) => Number(v) };
  db = await PGlite.create(workerData.dataDir, { parsers });
  // Redshift joins by hashing or merging (it has no indexes); without statistics (no autovacuum
  // here) Postgres would pick nested loops and scan a table once per row of the other.
  await db.exec('SET enable_nestloop = off');
}

const ready = open();

/**
 * Redshift keeps a block's zone map as it writes it and analyzes tables automatically; a BRIN index
 * (translate.ts: a sort key's stand-in) leaves new page ranges unsummarized until a vacuum, and the
 * planner uses it only with statistics. Nothing vacuums or analyzes here (no autovacuum), so every
 * few batches the new ranges are summarized and the tables analyzed, as autovacuum would.
 */
const SUMMARIZE_EVERY = 50;
let batchesSinceSummary = 0;
const SUMMARIZE = `SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin'`;

async function runBatch(statements) {
  const results = [];
  let index = 0;
  try {
    await db.transaction(async (tx) => {
      for (const st of statements) {
        const options = { rowMode: 'array' };
        if (st.blob) options.blob = new Blob([st.blob]);
        const res = await tx.query(st.sql, st.params ?? [], options);
        results.push({
          fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
          rows: res.rows,
          affectedRows: res.affectedRows ?? 0,
          internal: Boolean(st.internal),
        });
        index++;
      }
    });
    return { ok: true, results };
  } catch (e) {
    return { ok: false, error: { message: e && e.message ? e.message : String(e), code: e && e.code, statementIndex: index } };
  } finally {
    // Each Data API call is its own session on Redshift: temporary tables do not outlive it.
    await db.exec('DISCARD TEMP').catch(() => undefined);
    if (++batchesSinceSummary >= SUMMARIZE_EVERY) {
      batchesSinceSummary = 0;
      await db.exec(SUMMARIZE).catch(() => undefined);
      await db.exec('ANALYZE').catch(() => undefined);
    }
  }
}

parentPort.on('message', async (msg) => {
  try {
    await ready;
    if (msg.op === 'batch') parentPort.postMessage({ id: msg.id, ...(await runBatch(msg.statements)) });
    else if (msg.op === 'close') {
      await db.close();
      parentPort.postMessage({ id: msg.id, ok: true, results: [] });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: { message: e && e.message ? e.message : String(e), statementIndex: 0 } });
  }
});
