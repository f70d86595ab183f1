import { type CompareReport, compareQueries, DEFAULT_IGNORED_COLUMNS, planCompare, type SchemaCatalog, tableComparison } from '../lambdas/core/compare';
import { CATALOG_QUERY } from '../lambdas/core/sql';
import { fmt, table } from './format';
import { COMPARE_HELP } from './help';
import { dateOption, sourceOf, type Target, targetIo, UsageError } from './target';

export { COMPARE_HELP };

export interface CompareOptions {
  readonly source?: string;
  readonly with?: string;
  readonly from?: string;
  readonly to?: string;
  readonly ignore?: string;
  readonly json?: boolean;
}

/** Redshift's literal form of a moment, for the `:from` / `:to` parameters. */
const literal = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

export async function runCompare(
  target: Target,
  options: CompareOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const source = sourceOf(target, options.source, COMPARE_HELP).name;
  const oldSchema = options.with;
  if (!oldSchema) throw new UsageError(`--with is required: the schema Segment loads\n\n${COMPARE_HELP}`);
  if (!/^[a-z_][a-z0-9_]{0,126}$/.test(oldSchema)) throw new UsageError(`--with must be a schema name (lower-case letters, digits, _), not "${oldSchema}"`);
  if (oldSchema === source) throw new UsageError(`--with names the source's own schema "${source}": give the schema Segment loads`);
  const from = dateOption('from', options.from, new Date(Date.UTC(1, 0, 1)));
  const to = dateOption('to', options.to, new Date(Date.UTC(9999, 11, 31)));
  if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  const ignored =
    options.ignore === undefined
      ? [...DEFAULT_IGNORED_COLUMNS]
      : options.ignore
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== '');
  const io = targetIo(target);
  try {
    const catalog = async (schema: string): Promise<SchemaCatalog> => {
      const c: SchemaCatalog = {};
      for (const r of await io.warehouse.query(CATALOG_QUERY, { schema }, `reading the catalog of ${schema}`))
        (c[String(r.table_name)] ??= {})[String(r.column_name)] = String(r.data_type);
      return c;
    };
    const [oldCatalog, newCatalog] = [await catalog(oldSchema), await catalog(source)];
    if (Object.keys(oldCatalog).length === 0) {
      err.write(`Schema "${oldSchema}" has no tables this identity can see: check the name, or grant it USAGE and SELECT.\n`);
      return 2;
    }
    const plan = planCompare(oldCatalog, newCatalog, ignored);
    const tables = [];
    for (const [i, t] of plan.tables.entries()) {
      if (!options.json) err.write(`\rcomparing ${t.table} (${i + 1}/${plan.tables.length})…\x1b[K`);
      const results = [];
      for (const sql of compareQueries(oldSchema, source, t))
        results.push(await io.warehouse.query(sql, { from: literal(from), to: literal(to) }, `comparing ${t.table}`));
      tables.push(tableComparison(t, results));
    }
    if (!options.json && plan.tables.length > 0) err.write('\r\x1b[K');
    const report: CompareReport = {
      oldSchema,
      newSchema: source,
      from: from.toISOString(),
      to: to.toISOString(),
      ignoredColumns: ignored,
      equal: tables.every((t) => t.equal) && plan.tablesOnlyOld.length === 0 && plan.tablesOnlyNew.length === 0,
      tablesOnlyOld: plan.tablesOnlyOld,
      tablesOnlyNew: plan.tablesOnlyNew,
      tables,
    };
    if (options.json) out.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report, out);
    return report.equal ? 0 : 3;
  } finally {
    io.close();
  }
}

function printReport(r: CompareReport, out: NodeJS.WritableStream): void {
  const sum = (t: CompareReport['tables'][number], k: 'idsOld' | 'idsNew' | 'onlyOld' | 'onlyNew') => t.days.reduce((n, d) => n + d[k], 0);
  const differing = (t: CompareReport['tables'][number]) => [...new Set(t.days.flatMap((d) => d.differing.map((x) => x.column)))];
  out.write(
    `${r.newSchema} (ours) against ${r.oldSchema} (Segment): ${r.equal ? 'equal' : 'DIFFERENT'}; ${r.tables.length} tables compared, ignoring ${r.ignoredColumns.join(', ') || 'nothing'}.\n`,
  );
  out.write(
    `${table([
      ['table', `ids ${r.oldSchema}`, `ids ${r.newSchema}`, `only ${r.oldSchema}`, `only ${r.newSchema}`, 'columns differing', 'result'],
      ...r.tables.map((t) => [
        t.table,
        fmt(sum(t, 'idsOld')),
        fmt(sum(t, 'idsNew')),
        fmt(sum(t, 'onlyOld')),
        fmt(sum(t, 'onlyNew')),
        differing(t).join(', ') || '-',
        t.equal ? 'equal' : 'DIFFERENT',
      ]),
    ])}\n`,
  );
  for (const [label, list] of [
    [`Tables only in ${r.oldSchema}`, r.tablesOnlyOld],
    [`Tables only in ${r.newSchema}`, r.tablesOnlyNew],
  ] as const)
    if (list.length > 0) out.write(`${label}: ${list.join(', ')}\n`);
  for (const t of r.tables) {
    const rows = t.days.flatMap((d) => [
      ...(d.onlyOld > 0 ? [[d.day, `${fmt(d.onlyOld)} ids only in ${r.oldSchema}`, d.onlyOldExamples.join(', ')]] : []),
      ...(d.onlyNew > 0 ? [[d.day, `${fmt(d.onlyNew)} ids only in ${r.newSchema}`, d.onlyNewExamples.join(', ')]] : []),
      ...d.differing.map((x) => [d.day, `${x.column}: ${fmt(x.rows)} rows differ`, x.example]),
    ]);
    if (rows.length > 0) out.write(`\n${t.table}:\n${table([['day', 'difference', 'example ids'], ...rows])}\n`);
    for (const [label, cols] of [
      [`columns only in ${r.oldSchema}`, t.columnsOnlyOld],
      [`columns only in ${r.newSchema}`, t.columnsOnlyNew],
      ['columns not compared (names we do not put into SQL)', t.columnsSkipped],
    ] as const) {
      if (cols.length > 0) out.write(`${t.table}: ${label} (not compared): ${cols.join(', ')}\n`);
    }
  }
}
