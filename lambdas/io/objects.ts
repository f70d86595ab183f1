import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TransientError } from '../core/errors';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

function transient(e: unknown, what: string): never {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const status = err.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || status === 429 || /SlowDown|Throttl|Timeout|ECONNRESET|ECONNREFUSED/i.test(`${err.name} ${err.message}`)) {
    throw new TransientError(`${what}: ${err.message}`, {}, { cause: e });
  }
  throw e;
}

/** The object store the functions use: whole objects, gzip helpers, listing by prefix. */
export class ObjectStore {
  constructor(private readonly client: S3Client) {}

  async put(bucket: string, key: string, body: Buffer | string, contentType = 'application/json'): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    } catch (e) {
      transient(e, `writing s3://${bucket}/${key}`);
    }
  }

  async get(bucket: string, key: string): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    } catch (e) {
      transient(e, `reading s3://${bucket}/${key}`);
    }
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    await this.put(bucket, key, JSON.stringify(value));
  }

  /**
   * A conditional write (S3 conditional writes): `ifNoneMatch` only creates the key, `ifMatch`
   * only replaces that version. False when the condition did not hold (412, or 404 for `ifMatch`
   * on a missing key, or 409 when a concurrent conditional write won).
   */
  async putJsonIf(bucket: string, key: string, value: unknown, condition: { readonly ifNoneMatch: true } | { readonly ifMatch: string }): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(value),
          ContentType: 'application/json',
          ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' }),
        }),
      );
      return true;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || ('ifMatch' in condition && status === 404)) return false;
      transient(e, `writing s3://${bucket}/${key}`);
    }
  }

  /** A JSON object with its ETag, or undefined when the key has no object. */
  async getJsonTagged<T>(bucket: string, key: string): Promise<{ readonly value: T; readonly etag: string } | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      return { value: JSON.parse(body.toString('utf8')) as T, etag: String(res.ETag) };
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
      transient(e, `reading s3://${bucket}/${key}`);
    }
  }

  async getJson<T>(bucket: string, key: string): Promise<T> {
    return JSON.parse((await this.get(bucket, key)).toString('utf8')) as T;
  }

  async putGzip(bucket: string, key: string, body: Buffer | string): Promise<number> {
    const compressed = await gzip(body);
    await this.put(bucket, key, compressed, 'application/gzip');
    return compressed.length;
  }

  async getGunzipped(bucket: string, key: string): Promise<Buffer> {
    return gunzip(await this.get(bucket, key));
  }

  /** Every object under `prefix` (all pages), optionally starting after a key. */
  async list(bucket: string, prefix: string, startAfter?: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, StartAfter: token ? undefined : startAfter }),
        );
        for (const c of res.Contents ?? []) out.push({ key: c.Key as string, size: c.Size ?? 0, lastModified: c.LastModified ?? new Date(0) });
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      transient(e, `listing s3://${bucket}/${prefix}`);
    }
    return out;
  }

  /** The immediate "folders" under `prefix` (ListObjectsV2 with a delimiter). */
  async listPrefixes(bucket: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
        for (const p of res.CommonPrefixes ?? []) out.push(p.Prefix as string);
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      transient(e, `listing s3://${bucket}/${prefix}`);
    }
    return out;
  }
}
