import { layout } from '../core/layout';
import type { ChunkStats } from '../core/loadTypes';
import { type Catalog, columnTypeOf } from '../core/schema';
import { CATALOG_QUERY } from '../core/sql';
import type { ObjectStore } from './objects';
import type { Warehouse } from './warehouse';

/** Every chunk's statistics of a load (what the transforms staged). */
export async function readChunkStats(objects: ObjectStore, bucket: string, source: string, loadId: string): Promise<ChunkStats[]> {
  const listed = await objects.list(bucket, layout.statsPrefix(source, loadId));
  return Promise.all(listed.map((o) => objects.getJson<ChunkStats>(bucket, o.key)));
}

/** The live tables and column types of a source's schema. */
export async function readCatalog(warehouse: Warehouse, schema: string): Promise<Catalog> {
  const rows = await warehouse.query(CATALOG_QUERY, { schema }, 'catalog');
  const catalog: Catalog = {};
  for (const r of rows) (catalog[String(r.table_name)] ??= {})[String(r.column_name)] = columnTypeOf(String(r.data_type));
  return catalog;
}
