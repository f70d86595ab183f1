import * as path from 'node:path';
import { expectGoldenText } from '../../support/golden';
import { eventTableName, identifier, quoteIdent } from '../../../lambdas/core/naming';
import { planTable } from '../../../lambdas/core/schema';
import {
  addColumn,
  CATALOG_QUERY,
  createSchema,
  createTable,
  erasedIdsQuery,
  erasureReceiptStatements,
  erasureRegistryStatements,
  eraseTableStatements,
  expansionStatements,
  ledgerStatements,
  ledgerTables,
  literal,
  MAX_STATEMENT_BYTES,
  registeredIdsQuery,
  remainingRowsStatements,
  rowCountStatements,
  tableLoadStatements,
} from '../../../lambdas/core/sql';

const GOLDEN = path.join(__dirname, '..', '..', 'golden', 'sql');
const ROLE = 'arn:aws:iam::123456789012:role/clickstream-copy';

/**
 * Golden Redshift SQL for every kind of statement the SQL module emits. Each golden file starts
 * with the Redshift reference pages its syntax was checked against; the same statements run in
 * local mode in the loader tests (test/lambdas/load). `UPDATE_GOLDEN=1` rewrites after review.
 */
function expectGolden(name: string, references: string[], statements: string[]): void {
  const file = path.join(GOLDEN, `${name}.sql`);
  const text = `${references.map((r) => `-- ${r}`).join('\n')}\n${statements.map((s) => `${s};`).join('\n')}\n`;
  expectGoldenText(file, text);
}

const REF = 'https://docs.aws.amazon.com/redshift/latest/dg';

describe('SQL module (Redshift dialect)', () => {
  it('DDL: schema, tables with DISTKEY(id) SORTKEY(received_at), added columns, ledger tables, catalog query', () => {
    expectGolden(
      'ddl',
      [`${REF}/r_CREATE_SCHEMA.html`, `${REF}/r_CREATE_TABLE_NEW.html`, `${REF}/r_ALTER_TABLE.html`, `${REF}/r_COLUMNS.html (information_schema)`],
      [
        createSchema('web'),
        createTable('web', 'order_completed', [
          ['id', 'VARCHAR(65535)'],
          ['received_at', 'TIMESTAMP'],
          ['total', 'DOUBLE PRECISION'],
          ['items', 'BIGINT'],
          ['gift', 'BOOLEAN'],
        ]),
        addColumn('web', 'order_completed', 'coupon', 'VARCHAR(65535)'),
        ...ledgerTables('web'),
        CATALOG_QUERY,
      ],
    );
  });

  it('a call table load: stage, COPY manifest, discards, dedupe + cast, keep-newer merge, ledger', () => {
    const plan = planTable(
      'order_completed',
      { rows: 3, columns: { id: { s: 3 }, received_at: { t: 3 }, total: { f: 2, s: 1 }, items: { i: 3 }, gift: { b: 3 } } },
      {
        id: 'VARCHAR(65535)',
        received_at: 'TIMESTAMP',
        total: 'DOUBLE PRECISION',
        items: 'BIGINT',
        gift: 'BOOLEAN',
        uuid_ts: 'TIMESTAMP',
      },
    );
    expect(plan.expected).toEqual({ rows: 3, discardedValues: 1, conflicts: { total: 1 } });
    expectGolden(
      'table-load',
      [
        `${REF}/r_CREATE_TABLE_NEW.html (TEMP)`,
        `${REF}/r_COPY.html (MANIFEST, FORMAT AS JSON 'auto', GZIP)`,
        `${REF}/r_WF_ROW_NUMBER.html`,
        `${REF}/r_CREATE_TABLE_AS.html`,
        `${REF}/r_DELETE.html (USING)`,
        `${REF}/r_INSERT_30.html`,
        `${REF}/r_MD5.html`,
        `${REF}/r_SUBSTRING.html`,
        `${REF}/r_LEFT.html`,
      ],
      tableLoadStatements({
        schema: 'web',
        plan,
        loadId: 'exec-1234',
        manifestUri: 's3://staged-bucket/loads/web/exec-1234/manifests/order_completed.json',
        copyRoleArn: ROLE,
        mergeSince: '2026-11-28 09:59:58.123',
      }),
    );
  });

  it('merges within the window when there is one, against the whole table when there is none', () => {
    const plan = planTable('order_completed', { rows: 1, columns: { id: { s: 1 }, received_at: { t: 1 } } }, undefined);
    const merge = (mergeSince?: string) =>
      tableLoadStatements({ schema: 'web', plan, loadId: 'x', manifestUri: 's3://staged-bucket/k.json', copyRoleArn: ROLE, mergeSince }).filter((s) =>
        s.startsWith('DELETE'),
      );
    expect(merge('2026-11-28 10:00:00.000')).toEqual([
      `DELETE FROM "__typed" USING "web"."order_completed" t WHERE "__typed"."id" = t."id" AND t."received_at" >= "__typed"."received_at" AND t."received_at" >= CAST('2026-11-28 10:00:00.000' AS TIMESTAMP)`,
      `DELETE FROM "web"."order_completed" USING "__typed" WHERE "web"."order_completed"."id" = "__typed"."id" AND "web"."order_completed"."received_at" >= CAST('2026-11-28 10:00:00.000' AS TIMESTAMP)`,
    ]);
    expect(merge().every((s) => !s.includes('CAST('))).toBe(true);
    expect(() => merge("2026-11-28' OR 1=1 --")).toThrow('as a timestamp');
  });

  it('an identifies load rebuilds users: per trait the latest non-null value by timestamp', () => {
    const plan = planTable(
      'identifies',
      { rows: 1, columns: { id: { s: 1 }, received_at: { t: 1 }, user_id: { s: 1 }, email: { s: 1 }, logins: { i: 1 } } },
      undefined,
    );
    expectGolden(
      'identifies-users',
      [
        `${REF}/r_SPLIT_PART.html`,
        `${REF}/r_WF_ROW_NUMBER.html (ORDER BY … NULLS LAST)`,
        `${REF}/r_CREATE_TABLE_AS.html`,
        `${REF}/r_Join_examples.html (LEFT JOIN)`,
      ],
      tableLoadStatements({
        schema: 'web',
        plan,
        loadId: 'exec-1234',
        manifestUri: 's3://staged-bucket/loads/web/exec-1234/manifests/identifies.json',
        copyRoleArn: ROLE,
        derive: { table: 'users', keyColumn: 'user_id', traits: { email: 'VARCHAR(65535)', logins: 'BIGINT' } },
      }),
    );
  });

  it('the _discards load appends each discard once', () => {
    const plan = planTable('_discards', { rows: 1, columns: { id: { s: 1 }, table_name: { s: 1 }, row_id: { s: 1 }, reason: { s: 1 } } }, undefined);
    expectGolden(
      'discards-load',
      [`${REF}/r_COPY.html`, `${REF}/r_INSERT_30.html (INSERT … SELECT … WHERE NOT EXISTS)`],
      tableLoadStatements({
        schema: 'web',
        plan,
        loadId: 'exec-1234',
        manifestUri: 's3://staged-bucket/loads/web/exec-1234/manifests/_discards.json',
        copyRoleArn: ROLE,
      }),
    );
  });

  it('injection attempts in event and property names are quoted identifiers (the exact SQL)', () => {
    const table = eventTableName('"; DROP TABLE web.tracks; --');
    const plan = planTable(
      table,
      {
        rows: 1,
        columns: { id: { s: 1 }, received_at: { t: 1 }, [identifier("a'); DROP TABLE web.pages; --")]: { s: 1 }, [identifier('"quoted" name')]: { i: 1 } },
      },
      undefined,
    );
    const statements = tableLoadStatements({
      schema: 'web',
      plan,
      loadId: 'exec-1234',
      manifestUri: 's3://staged-bucket/loads/web/x/manifests/t.json',
      copyRoleArn: ROLE,
    });
    expectGolden('hostile-names', [`${REF}/r_names.html (delimited identifiers)`], statements);
    // No statement ends early: every quote of the attacker's text is doubled inside an identifier or a literal.
    for (const st of statements) expect(st.replace(/"(?:[^"]|"")*"|'(?:[^']|'')*'/g, '')).not.toMatch(/DROP|DELETE FROM web|;/);
    // Values we generate (load ids, S3 URIs, role ARNs) are checked against their pattern before they become literals.
    expect(() =>
      tableLoadStatements({
        schema: 'web',
        plan,
        loadId: "x'; DROP TABLE web.users; --",
        manifestUri: 's3://staged-bucket/loads/web/x/manifests/t.json',
        copyRoleArn: ROLE,
      }),
    ).toThrow('Refusing to put "x\'; DROP TABLE web.users; --" into SQL as a loadId');
  });

  it('the hours whose registered messages a call table lost (backfill "missing", verification)', () => {
    expectGolden(
      'registered-ids',
      [`${REF}/r_Join_examples.html (LEFT JOIN)`, `${REF}/r_UNION.html (UNION ALL)`],
      [registeredIdsQuery('web', ['tracks', 'pages'])],
    );
  });

  it('the ledger of raw objects', () => {
    expectGolden(
      'ledger',
      [`${REF}/r_COPY.html (TIMEFORMAT 'auto')`, `${REF}/r_DELETE.html`],
      ledgerStatements('web', 's3://staged-bucket/loads/web/exec-1234/ledger/manifest.json', ROLE),
    );
  });

  it('erasure: identities arrive by COPY, never as SQL text; registry, per-table deletes (groups rebuild accounts), checks, receipt', () => {
    const who = 's3://staged-bucket/erasures/req-1/web/identities.manifest.json';
    const call = [
      { table: 'tracks', columns: ['id', 'anonymous_id', 'user_id', 'received_at', 'event'] },
      { table: 'aliases', columns: ['id', 'anonymous_id', 'user_id', 'received_at', 'previous_id'] },
    ];
    const groups = eraseTableStatements({
      schema: 'web',
      table: 'groups',
      columns: ['id', 'anonymous_id', 'user_id', 'received_at', 'group_id', 'name'],
      whoManifest: who,
      copyRoleArn: ROLE,
      accounts: { traits: ['name', 'employees'] },
    });
    const users = eraseTableStatements({ schema: 'web', table: 'users', columns: ['id', 'received_at', 'email'], whoManifest: who, copyRoleArn: ROLE });
    expect(groups?.statements[groups.countAt]).toMatch(/^DELETE FROM "web"."groups" WHERE/);
    expect(eraseTableStatements({ schema: 'web', table: 'no_identity', columns: ['id', 'received_at'], whoManifest: who, copyRoleArn: ROLE })).toBeUndefined();
    expectGolden(
      'erasure',
      [
        `${REF}/r_COPY.html (MANIFEST, JSON 'auto', GZIP, TIMEFORMAT)`,
        `${REF}/r_DELETE.html`,
        `${REF}/r_UPDATE.html (FROM)`,
        `${REF}/r_INSERT_30.html (INSERT … SELECT … WHERE NOT EXISTS)`,
        `${REF}/r_UNION.html (UNION ALL)`,
      ],
      [
        ...(expansionStatements('web', call, who, ROLE) ?? []),
        ...(rowCountStatements('web', [...call, { table: 'users', columns: ['id'] }, { table: '_discards', columns: ['id', 'row_id'] }], who, ROLE) ?? []),
        ...erasureRegistryStatements({
          schema: 'web',
          requestId: 'req-1',
          whoManifest: who,
          copyRoleArn: ROLE,
          callTables: call,
          idsManifest: 's3://staged-bucket/erasures/req-1/web/ids.manifest.json',
          objectsManifest: 's3://staged-bucket/erasures/req-1/web/objects.manifest.json',
        }),
        ...(groups?.statements ?? []),
        ...(users?.statements ?? []),
        ...remainingRowsStatements('web', [...call, { table: 'users', columns: ['id'] }], who, ROLE),
        ...erasureReceiptStatements('web', 'req-1', 's3://staged-bucket/erasures/req-1/web/receipt.manifest.json', ROLE),
        erasedIdsQuery('web'),
      ],
    );
  });

  it('keeps every statement under the Data API limit, even for a 1,600-column table', () => {
    const columns = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`property_number_${i}`, { i: 1, s: 1 }]));
    const plan = planTable('wide', { rows: 1, columns: { id: { s: 1 }, received_at: { t: 1 }, ...columns } }, undefined);
    // The typed projection of 1,500 columns does not fit one statement: it is cast in column groups.
    const statements = tableLoadStatements({ schema: 'web', plan, loadId: 'x', manifestUri: 's3://staged-bucket/k.json', copyRoleArn: ROLE });
    expect(statements.length).toBeLessThanOrEqual(40);
    expect(statements.filter((s) => s.startsWith('UPDATE "web"."wide"')).length).toBeGreaterThan(0);
    for (const s of statements) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(MAX_STATEMENT_BYTES);
  });

  describe('never builds SQL from unsanitized input', () => {
    it.each([
      ["x'; DROP TABLE web.tracks; --", 'loadId'],
      ["s3://bucket/key'; DROP TABLE x; --", 's3Uri'],
      ["arn:aws:iam::123456789012:role/x' OR '1'='1", 'roleArn'],
      ['tracks"; DROP', 'name'],
    ] as const)('rejects %s as a %s literal', (value, kind) => {
      expect(() => literal(value, kind)).toThrow(/Refusing to put/);
    });
    it.each(['a"b', 'a b', 'x;DROP', '', 'a'.repeat(128)])('rejects %j as an identifier', (id) => {
      expect(() => quoteIdent(id)).toThrow(/did not come from the sanitizer/);
    });
  });
});
