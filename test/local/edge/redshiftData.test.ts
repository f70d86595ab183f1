import * as zlib from 'node:zlib';
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-redshift-data';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { eventually, startTestCloud, type TestCloud } from '../../support/localCloud';

describe('local edge: Redshift Data API with the real @aws-sdk/client-redshift-data', () => {
  let t: TestCloud;
  let target: { WorkgroupName: string; Database: string };
  beforeAll(async () => {
    t = await startTestCloud();
    target = { WorkgroupName: t.cloud.endpoints.warehouse.workgroupName, Database: t.cloud.endpoints.warehouse.database };
  });
  afterAll(() => t.stop());

  async function finished(Id: string): Promise<DescribeStatementCommandOutput> {
    return eventually(
      async () => {
        const d = await t.clients.data.send(new DescribeStatementCommand({ Id }));
        return ['FINISHED', 'FAILED', 'ABORTED'].includes(d.Status as string) ? d : undefined;
      },
      30_000,
      `statement ${Id}`,
    );
  }

  async function run(Sql: string, Parameters?: Array<{ name: string; value: string }>) {
    const { Id } = await t.clients.data.send(new ExecuteStatementCommand({ ...target, Sql, Parameters }));
    const d = await finished(Id as string);
    expect({ status: d.Status, error: d.Error }).toEqual({ status: 'FINISHED', error: undefined });
    return d;
  }

  it('runs Redshift DDL (DISTKEY, SORTKEY, ENCODE, SUPER) and reads typed results', async () => {
    await run('CREATE SCHEMA IF NOT EXISTS web');
    await run(
      `CREATE TABLE IF NOT EXISTS web.tracks (id VARCHAR(65535) NOT NULL ENCODE zstd, received_at TIMESTAMP, n BIGINT, x DOUBLE PRECISION, ok BOOLEAN, raw SUPER) DISTKEY(id) SORTKEY(received_at)`,
    );
    await run(`INSERT INTO web.tracks VALUES ('m1', '2026-11-21T10:00:00.000Z', 42, 1.5, true, NULL), ('m2', GETDATE(), NULL, NULL, false, NULL)`);
    const d = await run('SELECT id, received_at, n, x, ok, raw FROM web.tracks ORDER BY id');
    expect(d.HasResultSet).toBe(true);
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: d.Id }));
    expect(result.ColumnMetadata?.map((c) => [c.name, c.typeName])).toEqual([
      ['id', 'varchar'],
      ['received_at', 'timestamp'],
      ['n', 'int8'],
      ['x', 'float8'],
      ['ok', 'bool'],
      ['raw', 'super'],
    ]);
    expect(result.Records?.[0]).toEqual([
      { stringValue: 'm1' },
      { stringValue: '2026-11-21 10:00:00' },
      { longValue: 42 },
      { doubleValue: 1.5 },
      { booleanValue: true },
      { isNull: true },
    ]);
    expect(result.TotalNumRows).toBe(2);
  });

  it("gives a table with a one-column SORTKEY a BRIN index (the zone maps' stand-in), so a bounded scan skips old ranges", async () => {
    await run('CREATE SCHEMA IF NOT EXISTS web');
    await run(`CREATE TABLE IF NOT EXISTS web.zoned (id VARCHAR(64), received_at TIMESTAMP) SORTKEY(received_at)`);
    const index = await run(
      `SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'web.zoned'::regclass`,
    );
    expect((await t.clients.data.send(new GetStatementResultCommand({ Id: index.Id }))).Records).toEqual([[{ stringValue: 'brin' }]]);
    await run(`INSERT INTO web.zoned SELECT 'r' || g, TIMESTAMP '2025-01-01' + g * INTERVAL '1 minute' FROM generate_series(1, 50000) g`);
    // What the local warehouse does every 50 batches (summarize new ranges, analyze), as Redshift keeps zone maps and statistics.
    await run(`SELECT brin_summarize_new_values(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'web.zoned'::regclass`);
    await run('ANALYZE web.zoned');
    const plan = await run(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM web.zoned WHERE received_at >= TIMESTAMP '2025-02-03'`);
    const text = JSON.stringify((await t.clients.data.send(new GetStatementResultCommand({ Id: plan.Id }))).Records);
    expect(text).toContain('Bitmap Index Scan');
    // A temporary table (the load's stages) gets none.
    await run(`CREATE TEMP TABLE "__t" (id VARCHAR(10), received_at TIMESTAMP) SORTKEY(received_at)`);
  });

  it('binds named parameters instead of splicing values into SQL', async () => {
    const d = await run('SELECT count(*) AS n FROM web.tracks WHERE id = :id', [{ name: 'id', value: "m1' OR '1'='1" }]);
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: d.Id }));
    expect(result.Records).toEqual([[{ longValue: 0 }]]);
  });

  it('pages results with NextToken', async () => {
    const d = await run('SELECT g FROM generate_series(1, 12000) g');
    let rows = 0;
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await t.clients.data.send(new GetStatementResultCommand({ Id: d.Id, NextToken }));
      rows += page.Records?.length ?? 0;
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    expect({ rows, pages }).toEqual({ rows: 12000, pages: 3 });
  });

  it('runs a batch as one transaction: a failing statement rolls back the others and is named', async () => {
    const { Id } = await t.clients.data.send(
      new BatchExecuteStatementCommand({
        ...target,
        Sqls: ["INSERT INTO web.tracks (id) VALUES ('m3')", 'INSERT INTO web.no_such_table VALUES (1)', "INSERT INTO web.tracks (id) VALUES ('m4')"],
      }),
    );
    const d = await finished(Id as string);
    expect(d.Status).toBe('FAILED');
    expect(d.Error).toMatch(/^Query #2 failed with ERROR: relation "web.no_such_table" does not exist/);
    expect(d.SubStatements?.map((s) => s.Status)).toEqual(['FINISHED', 'FAILED', 'ABORTED']);
    const count = await run("SELECT count(*) FROM web.tracks WHERE id IN ('m3', 'm4')");
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: count.Id }));
    expect(result.Records).toEqual([[{ longValue: 0 }]]);
  });

  it('reports a failed statement with the database error', async () => {
    const { Id } = await t.clients.data.send(new ExecuteStatementCommand({ ...target, Sql: 'SELECT * FROM web.missing' }));
    const d = await finished(Id as string);
    expect(d.Status).toBe('FAILED');
    expect(d.Error).toBe('ERROR: relation "web.missing" does not exist');
  });

  it("bulk-loads COPY … FROM 's3://…' MANIFEST FORMAT JSON 'auto' GZIP from local S3", async () => {
    const staged = t.cloud.endpoints.buckets.staged;
    const file = (rows: object[]) => zlib.gzipSync(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await t.clients.s3.send(
      new PutObjectCommand({
        Bucket: staged,
        Key: 'copy/part-0.json.gz',
        Body: file([
          { id: 'c1', n: 1, received_at: '2026-11-21T11:00:00.000Z', extra: 'ignored' },
          { id: 'c2', n: 2 },
        ]),
      }),
    );
    await t.clients.s3.send(
      new PutObjectCommand({ Bucket: staged, Key: 'copy/part-1.json.gz', Body: file([{ id: 'c3', ok: true, x: 2.25, raw: { a: [1, 2] } }]) }),
    );
    const manifest = { entries: ['part-0', 'part-1'].map((p) => ({ url: `s3://${staged}/copy/${p}.json.gz`, mandatory: true })) };
    await t.clients.s3.send(new PutObjectCommand({ Bucket: staged, Key: 'copy/manifest.json', Body: JSON.stringify(manifest) }));
    const copy = await run(
      `COPY web.tracks FROM 's3://${staged}/copy/manifest.json' IAM_ROLE 'arn:aws:iam::000000000000:role/copy' MANIFEST FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF`,
    );
    expect(copy.ResultRows).toBe(3);
    const d = await run("SELECT id, n, received_at, ok, x, raw FROM web.tracks WHERE id LIKE 'c%' ORDER BY id");
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: d.Id }));
    expect(result.Records).toEqual([
      [{ stringValue: 'c1' }, { longValue: 1 }, { stringValue: '2026-11-21 11:00:00' }, { isNull: true }, { isNull: true }, { isNull: true }],
      [{ stringValue: 'c2' }, { longValue: 2 }, { isNull: true }, { isNull: true }, { isNull: true }, { isNull: true }],
      [{ stringValue: 'c3' }, { isNull: true }, { isNull: true }, { booleanValue: true }, { doubleValue: 2.25 }, { stringValue: '{"a":[1,2]}' }],
    ]);
  });

  it('fails a COPY option it does not implement with a clear error, loading nothing', async () => {
    const { Id } = await t.clients.data.send(
      new ExecuteStatementCommand({
        ...target,
        Sql: `COPY web.tracks FROM 's3://${t.cloud.endpoints.buckets.staged}/copy/manifest.json' IAM_ROLE default MANIFEST FORMAT AS JSON 'auto' GZIP TRUNCATECOLUMNS`,
      }),
    );
    const d = await finished(Id as string);
    expect(d.Status).toBe('FAILED');
    expect(d.Error).toMatch(/^local warehouse: COPY option TRUNCATECOLUMNS is not supported in: COPY web.tracks/);
  });

  it('rejects an unknown workgroup, a wrong database and a statement over 100 KB', async () => {
    await expect(
      t.clients.data.send(new ExecuteStatementCommand({ WorkgroupName: 'other', Database: target.Database, Sql: 'SELECT 1' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(t.clients.data.send(new ExecuteStatementCommand({ ...target, Database: 'nope', Sql: 'SELECT 1' }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(t.clients.data.send(new ExecuteStatementCommand({ ...target, Sql: `SELECT '${'x'.repeat(101 * 1024)}'` }))).rejects.toBeInstanceOf(
      ValidationException,
    );
  });

  it('keeps the warehouse across a restart', async () => {
    const dataDir = t.dataDir;
    await t.stop({ keepData: true });
    t = await startTestCloud({ dataDir });
    const d = await run('SELECT count(*) FROM web.tracks');
    const result = await t.clients.data.send(new GetStatementResultCommand({ Id: d.Id }));
    expect(result.Records).toEqual([[{ longValue: 5 }]]);
  });
});
