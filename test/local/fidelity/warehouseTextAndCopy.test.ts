import * as zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { runStatement } from '../../support/pipeline';

/**
 * Rules: VARCHAR(n) holds n bytes, not n characters ("Character types", Redshift Database
 * Developer Guide); COPY takes only the options local mode implements as Redshift documents them
 * (r_COPY.html) — any other option fails the statement instead of being ignored.
 */
describe('the local warehouse counts VARCHAR in bytes and refuses COPY options it does not implement', () => {
  let t: TestCloud;
  const ROLE = "IAM_ROLE 'arn:aws:iam::000000000000:role/copy'";
  beforeAll(async () => {
    t = await startTestCloud();
    await run('CREATE SCHEMA IF NOT EXISTS fidelity');
    await run('CREATE TABLE fidelity.texts (id VARCHAR(64), body VARCHAR(65535))');
  });
  afterAll(() => t.stop());

  const run = (sql: string) => runStatement(t, sql);

  async function stage(key: string, rows: unknown[]): Promise<string> {
    const bucket = t.cloud.endpoints.buckets.staged;
    await t.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zlib.gzipSync(rows.map((r) => JSON.stringify(r)).join('\n')) }));
    return `s3://${bucket}/${key}`;
  }

  it('loads a 65,535-byte value and fails COPY of a 70,002-byte value of 23,334 characters into VARCHAR(65535)', async () => {
    const fits = await stage('fidelity/fits.json.gz', [{ id: 'a', body: 'x'.repeat(65_535) }]);
    expect((await run(`COPY fidelity.texts FROM '${fits}' ${ROLE} FORMAT AS JSON 'auto' GZIP`)).Status).toBe('FINISHED');
    const euros = '€'.repeat(23_334); // 3 bytes each: 70,002 bytes
    const tooLong = await stage('fidelity/too-long.json.gz', [{ id: 'b', body: euros }]);
    const d = await run(`COPY fidelity.texts FROM '${tooLong}' ${ROLE} FORMAT AS JSON 'auto' GZIP`);
    expect({ status: d.Status, error: d.Error }).toEqual({
      status: 'FAILED',
      error: expect.stringMatching(/^ERROR: Load into table 'fidelity\.texts' failed\. .*String length exceeds DDL length: VARCHAR\(65535\) holds 65535 bytes/),
    });
    const insert = await run(`INSERT INTO fidelity.texts VALUES ('c', '${euros}')`);
    expect({ status: insert.Status, error: insert.Error }).toEqual({
      status: 'FAILED',
      error: 'ERROR: value too long for type character varying(65535) (Redshift counts bytes)',
    });
    expect((await run("SELECT COUNT(*) FROM fidelity.texts WHERE id IN ('b', 'c')")).Status).toBe('FINISHED');
  });

  it('counts bytes in columns added later too', async () => {
    expect((await run('ALTER TABLE fidelity.texts ADD COLUMN "note" VARCHAR(4)')).Status).toBe('FINISHED');
    expect((await run("INSERT INTO fidelity.texts (id, note) VALUES ('d', 'abcd')")).Status).toBe('FINISHED');
    expect((await run("INSERT INTO fidelity.texts (id, note) VALUES ('e', 'ééé')")).Error).toBe(
      'ERROR: value too long for type character varying(4) (Redshift counts bytes)',
    );
  });

  it.each([
    ['EMPTYASNULL', 'COPY option EMPTYASNULL is not supported'],
    ['BLANKSASNULL', 'COPY option BLANKSASNULL is not supported'],
    ['ACCEPTINVCHARS', 'COPY option ACCEPTINVCHARS is not supported'],
    ["DATEFORMAT 'auto'", 'COPY option DATEFORMAT is not supported'],
    ["TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'", "COPY TIMEFORMAT 'YYYY-MM-DD HH:MI:SS' is not implemented (only 'auto')"],
  ])('fails a COPY with %s, an option it does not implement', async (option, message) => {
    const file = await stage('fidelity/ok.json.gz', [{ id: 'f', body: 'ok' }]);
    const d = await run(`COPY fidelity.texts FROM '${file}' ${ROLE} FORMAT AS JSON 'auto' GZIP ${option}`);
    expect({ status: d.Status, error: d.Error }).toEqual({ status: 'FAILED', error: expect.stringContaining(message) });
  });

  it("fails JSON 'auto ignorecase' (case-insensitive keys are not implemented)", async () => {
    const file = await stage('fidelity/ok2.json.gz', [{ id: 'g', body: 'ok' }]);
    const d = await run(`COPY fidelity.texts FROM '${file}' ${ROLE} FORMAT AS JSON 'auto ignorecase' GZIP`);
    expect(d.Error).toContain("COPY JSON 'auto ignorecase' is not implemented (only 'auto')");
  });
});
