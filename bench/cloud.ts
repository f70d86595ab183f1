import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../local/LocalCloud';

/**
 * A local stack for a benchmark: a fresh data directory, free ports, no scheduled loads, Firehose
 * delivering only when flushed, Wait states and retries 1,000× shorter. `options` adds or overrides.
 */
export async function startBenchCloud(name: string, options: Partial<LocalCloudOptions> = {}): Promise<{ cloud: LocalCloud; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const cloud = await startLocalCloud({
    dataDir,
    edgePort: 0,
    collectorPort: 0,
    loadIntervalSeconds: 0,
    bufferIntervalSeconds: 3600,
    timeScale: 0.001,
    ...options,
  });
  return { cloud, dataDir };
}
