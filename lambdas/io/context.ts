import { loaderConfig } from '../core/config';
import { dataApiClient, s3Client } from './clients';
import { ObjectStore } from './objects';
import { Warehouse } from './warehouse';

/** What a loader function works with, built from its configuration (cheap; clients are shared). */
export function loaderContext() {
  const config = loaderConfig();
  return {
    config,
    objects: new ObjectStore(s3Client()),
    warehouse: new Warehouse(dataApiClient(), {
      workgroup: config.WAREHOUSE_WORKGROUP,
      cluster: config.WAREHOUSE_CLUSTER,
      database: config.WAREHOUSE_DATABASE,
    }),
  };
}
