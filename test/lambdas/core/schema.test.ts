import {
  columnTypeOf,
  type Catalog,
  ddlFor,
  fixedColumnsOf,
  kindOf,
  MAX_COLUMNS_PER_TABLE,
  mergeSince,
  mergeStaged,
  planSchema,
  planTable,
  type StagedTable,
} from '../../../lambdas/core/schema';
import { ledgerTables } from '../../../lambdas/core/sql';

/** Schema evolution, pure: staged value tags in, table plans and DDL out. */
describe('schema evolution', () => {
  const staged = (rows: number, columns: StagedTable['columns']): StagedTable => ({ rows, columns });

  it('creates a new table with its fixed columns and the narrowest type that holds every staged value', () => {
    const plan = planTable(
      'order_completed',
      staged(3, { total: { i: 2, f: 1 }, coupon: { s: 3 }, paid_at: { t: 3 }, gift: { b: 1 }, mixed: { i: 1, s: 1 } }),
      undefined,
    );
    expect({ exists: plan.exists, kind: plan.kind }).toEqual({ exists: false, kind: 'event' });
    expect(plan.columnTypes).toEqual({ total: 'DOUBLE PRECISION', coupon: 'VARCHAR(65535)', paid_at: 'TIMESTAMP', gift: 'BOOLEAN', mixed: 'VARCHAR(65535)' });
    expect(plan.newColumns.slice(0, Object.keys(fixedColumnsOf('order_completed')).length)).toEqual(Object.entries(fixedColumnsOf('order_completed')));
    expect(plan.expected).toEqual({ rows: 3, discardedValues: 0, conflicts: {} });
  });

  it('never narrows: an existing column keeps its type and values that do not fit are counted as discards', () => {
    const existing = { ...fixedColumnsOf('tracks'), total: 'BIGINT' as const };
    const plan = planTable('order_completed', staged(4, { total: { i: 2, f: 1, s: 1 }, coupon: { s: 4 } }), existing);
    expect(plan.columnTypes.total).toBe('BIGINT');
    expect(plan.newColumns).toEqual([['coupon', 'VARCHAR(65535)']]);
    expect(plan.expected).toEqual({ rows: 4, discardedValues: 2, conflicts: { total: 2 } });
  });

  it('stops a table at 1,600 columns: the values of columns past it are discarded, counted per column', () => {
    const full = Object.fromEntries(Array.from({ length: MAX_COLUMNS_PER_TABLE }, (_, i) => [`c${i}`, 'BIGINT' as const]));
    const plan = planTable('wide', staged(2, { extra: { s: 2 }, c1: { i: 2 } }), full);
    expect(plan.droppedColumns).toEqual(['extra']);
    expect(plan.newColumns).toEqual([]);
    expect(plan.expected.conflicts).toEqual({ extra: 2 });
  });

  it('plans users and accounts from the trait columns of identifies and groups', () => {
    const { plans, derived, derive } = planSchema(
      { identifies: staged(1, { plan: { s: 1 }, seats: { i: 1 }, context_ip: { s: 1 } }), groups: staged(1, { name: { s: 1 } }) },
      {},
    );
    expect(plans.map((p) => p.table)).toEqual(['groups', 'identifies']);
    expect(derived.map((p) => [p.table, p.exists])).toEqual([
      ['users', false],
      ['accounts', false],
    ]);
    expect(derive.get('identifies')).toEqual({ table: 'users', keyColumn: 'user_id', traits: { plan: 'VARCHAR(65535)', seats: 'BIGINT' } });
    expect(derived[0].newColumns).toEqual(
      expect.arrayContaining([
        ['seats', 'BIGINT'],
        ['plan', 'VARCHAR(65535)'],
      ]),
    );
    expect(derived[0].newColumns.map(([c]) => c)).not.toContain('context_ip');
  });

  it('writes additive, idempotent DDL: the schema and ledger first, CREATE for new tables, ADD COLUMN for new columns', () => {
    const catalog = { tracks: { ...fixedColumnsOf('tracks') }, _discards: { ...fixedColumnsOf('_discards') } };
    const { plans } = planSchema({ tracks: staged(1, { context_ip: { s: 1 } }), pages: staged(1, {}) }, catalog);
    const ddl = ddlFor('web', plans, catalog);
    expect(ddl.slice(0, 1 + ledgerTables('web').length)).toEqual(['CREATE SCHEMA IF NOT EXISTS "web"', ...ledgerTables('web')]);
    const changes = ddl.slice(1 + ledgerTables('web').length);
    expect(changes).toEqual([
      expect.stringMatching(/^CREATE TABLE IF NOT EXISTS "web"\."pages" \(/),
      'ALTER TABLE "web"."tracks" ADD COLUMN "context_ip" VARCHAR(65535)',
    ]);
    // A catalog without _discards gets it created, whatever was staged.
    expect(ddlFor('web', [], {}).some((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "web"."_discards"'))).toBe(true);
  });

  it('reads catalog types, table kinds, and merges chunk statistics', () => {
    expect(
      ['bigint', 'integer', 'double precision', 'numeric', 'boolean', 'timestamp without time zone', 'character varying', 'super'].map(columnTypeOf),
    ).toEqual(['BIGINT', 'BIGINT', 'DOUBLE PRECISION', 'DOUBLE PRECISION', 'BOOLEAN', 'TIMESTAMP', 'VARCHAR(65535)', 'VARCHAR(65535)']);
    expect(['_discards', 'tracks', 'identifies', 'order_completed'].map(kindOf)).toEqual(['discards', 'call', 'call', 'event']);
    const merged = mergeStaged({ t: staged(1, { a: { i: 1 } }) }, { t: staged(2, { a: { i: 1, s: 1 }, b: { b: 2 } }), u: staged(1, {}) });
    expect(merged).toEqual({ t: staged(3, { a: { i: 2, s: 1 }, b: { b: 2 } }), u: staged(1, {}) });
  });
});

describe('mergeSince', () => {
  it('is the window before the oldest received_at any chunk staged', () => {
    expect(mergeSince([{ rows: 2, minReceivedAt: '2026-12-05 10:00:00.000' }, undefined, { rows: 1, minReceivedAt: '2026-12-04 23:59:59.999' }], 7)).toBe(
      '2026-11-27 23:59:59.999',
    );
  });
  it('compares with the whole table when the window is 0 or a chunk with rows did not record its oldest time', () => {
    expect(mergeSince([{ rows: 2, minReceivedAt: '2026-12-05 10:00:00.000' }], 0)).toBeUndefined();
    expect(mergeSince([{ rows: 2, minReceivedAt: '2026-12-05 10:00:00.000' }, { rows: 1 }], 7)).toBeUndefined();
    expect(mergeSince([{ rows: 0 }, undefined], 7)).toBeUndefined();
  });
});

describe('ledger columns added later', () => {
  it('adds _loads.staged_events to a ledger created before it, once', () => {
    const old = {
      _loads: { object_key: 'VARCHAR(65535)', hour: 'TIMESTAMP', events: 'BIGINT', discarded_events: 'BIGINT', loaded_at: 'TIMESTAMP' },
    } satisfies Catalog;
    const alter = (catalog: Parameters<typeof ddlFor>[2]) => ddlFor('web', [], catalog).filter((s) => s.startsWith('ALTER TABLE "web"."_loads"'));
    expect(alter(old)).toEqual(['ALTER TABLE "web"."_loads" ADD COLUMN "staged_events" BIGINT']);
    expect(alter({ _loads: { ...old._loads, staged_events: 'BIGINT' } })).toEqual([]);
    expect(alter({})).toEqual([]); // a new ledger is created with it
  });
});
