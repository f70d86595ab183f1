import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AwsError } from './http';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** Quoted, as S3 sends it. */
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata?: Record<string, string>;
}

interface Bucket {
  readonly name: string;
  readonly dir: string;
  readonly objects: Map<string, StoredObject>;
  /** Keys in lexicographic (UTF-8 byte) order, as ListObjectsV2 returns them. */
  sortedKeys: string[] | undefined;
}

/** Orders keys by their UTF-8 bytes, which is S3's listing order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Buckets and objects as files under one directory: each object is `<sha256(key)>.data` with a
 * `.meta.json` beside it (keys may hold any character, file names may not). Writes are atomic
 * (write to a temporary file, then rename), so a crash never leaves half an object.
 */
export class ObjectStore {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
    for (const name of fs.readdirSync(root)) {
      const dir = path.join(root, name);
      if (!fs.statSync(dir).isDirectory()) continue;
      const bucket: Bucket = { name, dir, objects: new Map(), sortedKeys: undefined };
      for (const file of fs.readdirSync(dir)) {
        if (!file.endsWith('.meta.json')) continue;
        const meta = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as StoredObject;
        if (fs.existsSync(this.dataPath(bucket, meta.key))) bucket.objects.set(meta.key, meta);
      }
      this.buckets.set(name, bucket);
    }
  }

  createBucket(name: string): void {
    if (!BUCKET_NAME.test(name)) throw new AwsError('InvalidBucketName', `The specified bucket is not valid: ${name}`);
    if (this.buckets.has(name)) return;
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir, { recursive: true });
    this.buckets.set(name, { name, dir, objects: new Map(), sortedKeys: undefined });
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()].sort();
  }

  put(
    bucketName: string,
    key: string,
    body: Buffer,
    attributes: Omit<StoredObject, 'key' | 'size' | 'etag' | 'lastModified'> = {},
    etag?: string,
  ): StoredObject {
    const bucket = this.bucket(bucketName);
    if (key.length === 0 || Buffer.byteLength(key) > 1024) throw new AwsError('KeyTooLongError', 'Object keys are 1 to 1024 bytes long');
    const meta: StoredObject = {
      key,
      size: body.length,
      etag: etag ?? `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date().toISOString(),
      ...attributes,
    };
    const tmp = path.join(bucket.dir, `.tmp-${randomUUID()}`);
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, this.dataPath(bucket, key));
    const tmpMeta = `${tmp}.meta`;
    fs.writeFileSync(tmpMeta, JSON.stringify(meta));
    fs.renameSync(tmpMeta, this.metaPath(bucket, key));
    if (!bucket.objects.has(key)) bucket.sortedKeys = undefined;
    bucket.objects.set(key, meta);
    return meta;
  }

  head(bucketName: string, key: string): StoredObject {
    const meta = this.bucket(bucketName).objects.get(key);
    if (!meta) throw new AwsError('NoSuchKey', `The specified key does not exist: ${key}`, 404);
    return meta;
  }

  get(bucketName: string, key: string): { meta: StoredObject; body: Buffer } {
    const meta = this.head(bucketName, key);
    return { meta, body: fs.readFileSync(this.dataPath(this.bucket(bucketName), key)) };
  }

  delete(bucketName: string, key: string): void {
    const bucket = this.bucket(bucketName);
    if (!bucket.objects.delete(key)) return;
    bucket.sortedKeys = undefined;
    fs.rmSync(this.metaPath(bucket, key), { force: true });
    fs.rmSync(this.dataPath(bucket, key), { force: true });
  }

  /** Keys after `startAfter` that begin with `prefix`, in S3 order. */
  *keys(bucketName: string, prefix: string, startAfter = ''): Generator<StoredObject> {
    const bucket = this.bucket(bucketName);
    bucket.sortedKeys ??= [...bucket.objects.keys()].sort(compareKeys);
    const keys = bucket.sortedKeys;
    const from = startAfter && compareKeys(startAfter, prefix) > 0 ? startAfter : prefix;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(keys[mid], from) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < keys.length; i++) {
      const key = keys[i];
      if (key === startAfter) continue;
      if (!key.startsWith(prefix)) return;
      const meta = bucket.objects.get(key);
      if (meta) yield meta;
    }
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new AwsError('NoSuchBucket', `The specified bucket does not exist: ${name}`, 404);
    return bucket;
  }

  private dataPath(bucket: Bucket, key: string): string {
    return path.join(bucket.dir, `${createHash('sha256').update(key).digest('hex')}.data`);
  }

  private metaPath(bucket: Bucket, key: string): string {
    return path.join(bucket.dir, `${createHash('sha256').update(key).digest('hex')}.meta.json`);
  }
}
