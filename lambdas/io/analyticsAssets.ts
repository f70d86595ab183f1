import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/**
 * The analytics.js files of the `@segment/analytics-next` package (its `dist/umd` folder). In the
 * deployed function they are copied next to the bundled handler (`analytics-next/`); in local mode
 * they are read from the installed package.
 */
function assetDir(): string {
  const bundled = path.join(__dirname, 'analytics-next');
  if (fs.existsSync(bundled)) return bundled;
  return path.join(path.dirname(require.resolve('@segment/analytics-next/package.json')), 'dist', 'umd');
}

export interface Asset {
  readonly body: Buffer;
  readonly gzipped: Buffer;
}

const cache = new Map<string, Asset | null>();

/** A file of the package (gzipped once and kept while the function is warm), or undefined. */
export function analyticsAsset(file: string, prefix = ''): Asset | undefined {
  const key = `${prefix.length}:${file}`;
  if (!cache.has(key)) {
    const full = path.join(assetDir(), path.basename(file));
    if (!fs.existsSync(full)) cache.set(key, null);
    else {
      const body = Buffer.concat([Buffer.from(prefix, 'utf8'), fs.readFileSync(full)]);
      cache.set(key, { body, gzipped: zlib.gzipSync(body, { level: 9 }) });
    }
  }
  return cache.get(key) ?? undefined;
}
