import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareQueries, planCompare } from '../../../lambdas/core/compare';
import { planTable } from '../../../lambdas/core/schema';
import {
  addColumn,
  bootstrapStatements,
  CATALOG_QUERY,
  createSchema,
  createTable,
  discardActivityQuery,
  LEDGER_EXISTS_QUERY,
  latestLedgerHourQuery,
  ledgerKeysQuery,
  ledgerStatements,
  ledgerTables,
  loadActivityQuery,
  loadTablesQuery,
  registeredIdsQuery,
  ROLE_EXISTS_QUERY,
  TABLES_QUERY,
  tableLoadStatements,
} from '../../../lambdas/core/sql';
import { POSTGRES_ONLY, postgresOnlySyntax } from '../../support/redshiftDialect';

const GOLDEN = path.join(__dirname, '..', '..', 'golden', 'sql');
const ROLE = 'arn:aws:iam::123456789012:role/clickstream-copy';

/** Every statement of the golden SQL files (each statement ends with `;` at a line end). */
function goldenStatements(): Array<[string, string]> {
  return fs
    .readdirSync(GOLDEN)
    .filter((f) => f.endsWith('.sql'))
    .flatMap((f) =>
      fs
        .readFileSync(path.join(GOLDEN, f), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('--'))
        .join('\n')
        .split(/;\n/)
        .filter((s) => s.trim())
        .map((s) => [f, s] as [string, string]),
    );
}

/** Statements of kinds the golden files do not show: wide tables, the derived tables, every query. */
function generatedVariants(): string[] {
  const wide = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`p_${i}`, { s: 1, i: 1 }]));
  const widePlan = planTable('wide_event', { rows: 2, columns: { id: { s: 2 }, received_at: { t: 2 }, ...wide } }, undefined);
  const load = (plan: ReturnType<typeof planTable>, derive?: Parameters<typeof tableLoadStatements>[0]['derive']) =>
    tableLoadStatements({
      schema: 'web',
      plan,
      loadId: 'exec-1',
      manifestUri: 's3://staged-bucket/m.json',
      copyRoleArn: ROLE,
      derive,
      mergeSince: '2026-11-28 10:00:00.000',
    });
  const identifies = planTable(
    'identifies',
    { rows: 1, columns: { id: { s: 1 }, received_at: { t: 1 }, user_id: { s: 1 }, email: { s: 1 }, logins: { i: 1 } } },
    undefined,
  );
  const groupCalls = planTable('groups', { rows: 1, columns: { id: { s: 1 }, received_at: { t: 1 }, group_id: { s: 1 }, name: { s: 1 } } }, undefined);
  return [
    createSchema('web'),
    createTable('web', 'wide_event', widePlan.newColumns),
    addColumn('web', 'x', 'y', 'TIMESTAMP'),
    ...ledgerTables('web'),
    ...load(widePlan),
    ...load(identifies, { table: 'users', keyColumn: 'user_id', traits: { email: 'VARCHAR(65535)', logins: 'BIGINT' } }),
    ...load(groupCalls, { table: 'accounts', keyColumn: 'group_id', traits: { name: 'VARCHAR(65535)' } }),
    ...ledgerStatements('web', 's3://staged-bucket/ledger.json', ROLE),
    ...bootstrapStatements('clickstream', false),
    CATALOG_QUERY,
    TABLES_QUERY,
    LEDGER_EXISTS_QUERY,
    ROLE_EXISTS_QUERY,
    registeredIdsQuery('web', ['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases']),
    ...compareQueries(
      'segment_web',
      'web',
      planCompare(
        { tracks: { id: 'character varying', received_at: 'timestamp', total: 'double precision', event: 'character varying' } },
        { tracks: { id: 'character varying', received_at: 'timestamp', total: 'bigint', event: 'character varying' } },
      ).tables[0],
    ),
    ledgerKeysQuery('web'),
    loadActivityQuery('web'),
    discardActivityQuery('web'),
    latestLedgerHourQuery('web'),
    loadTablesQuery('web', 'exec-1'),
  ];
}

describe('Redshift dialect check', () => {
  it('finds no PostgreSQL-only syntax in any golden SQL statement', () => {
    const statements = goldenStatements();
    expect(statements.length).toBeGreaterThan(20);
    expect(
      statements.map(([file, s]) => ({ file, s: s.slice(0, 80), broken: postgresOnlySyntax(s).map((r) => r.id) })).filter((x) => x.broken.length > 0),
    ).toEqual([]);
  });

  it('finds none in the generated variants (1,500-column table, users and accounts rebuilt, ledger, bootstrap, every query)', () => {
    const statements = generatedVariants();
    expect(statements.length).toBeGreaterThan(40);
    expect(statements.map((s) => ({ s: s.slice(0, 80), broken: postgresOnlySyntax(s).map((r) => r.id) })).filter((x) => x.broken.length > 0)).toEqual([]);
  });

  it.each(POSTGRES_ONLY.map((r) => [r.id, r]))('catches a planted PostgreSQL-only statement: %s', (_id, rule) => {
    expect(postgresOnlySyntax(rule.example).map((r) => r.id)).toContain(rule.id);
    expect(rule.page).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/redshift\//);
  });

  it('reads quoted identifiers and string literals as data, not syntax', () => {
    expect(postgresOnlySyntax('SELECT "returning", \'ON CONFLICT\' FROM "web"."jsonb"')).toEqual([]);
  });
});
