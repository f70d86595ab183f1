import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startTestCloud, type TestCloud } from '../../support/localCloud';

describe('local edge: S3 with the real @aws-sdk/client-s3', () => {
  let t: TestCloud;
  const Bucket = 'test-bucket';
  beforeAll(async () => {
    t = await startTestCloud();
    await t.clients.s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(() => t.stop());

  it('creates and heads buckets, and answers 404 for a missing one', async () => {
    await expect(t.clients.s3.send(new HeadBucketCommand({ Bucket }))).resolves.toBeDefined();
    await expect(t.clients.s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('puts, gets, heads and deletes an object with metadata', async () => {
    const Body = 'hello, clickstream ✓';
    const put = await t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'a/b.txt', Body, ContentType: 'text/plain', Metadata: { source: 'web' } }));
    expect(put.ETag).toBe(`"${createHash('md5').update(Body).digest('hex')}"`);
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe(Body);
    expect(got.ContentType).toBe('text/plain');
    expect(got.Metadata).toEqual({ source: 'web' });
    const head = await t.clients.s3.send(new HeadObjectCommand({ Bucket, Key: 'a/b.txt' }));
    expect(head.ContentLength).toBe(Buffer.byteLength(Body));
    await t.clients.s3.send(new DeleteObjectCommand({ Bucket, Key: 'a/b.txt' }));
    await expect(t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'a/b.txt' }))).rejects.toBeInstanceOf(NoSuchKey);
  });

  it('writes conditionally: If-None-Match only a new key, If-Match only over that ETag (412 otherwise, 404 without an object)', async () => {
    const Key = 'conditional/lock.json';
    const first = await t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'one', IfNoneMatch: '*' }));
    await expect(t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfNoneMatch: '*' }))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfMatch: '"0123456789abcdef0123456789abcdef"' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await expect(t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'conditional/none.json', Body: 'x', IfMatch: first.ETag }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    await expect(t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfNoneMatch: first.ETag }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 501 },
    });
    await t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfMatch: first.ETag }));
    expect(await (await t.clients.s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString()).toBe('two');
  });

  it('decodes a streamed (aws-chunked, CRC32 trailer) upload byte for byte', async () => {
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 256;
    const seen: Array<Record<string, string>> = [];
    const command = new PutObjectCommand({
      Bucket,
      Key: 'streamed.bin',
      Body: Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]),
      ContentLength: bytes.length,
    });
    command.middlewareStack.add(
      (next) => async (args) => {
        seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    await t.clients.s3.send(command);
    // The SDK's defaults really sent aws-chunked framing with a checksum trailer.
    expect(seen[0]['content-encoding']).toContain('aws-chunked');
    expect(seen[0]['x-amz-trailer']).toBe('x-amz-checksum-crc32');
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'streamed.bin' }));
    const back = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    expect(back.equals(bytes)).toBe(true);
  });

  it('rejects a body whose checksum does not match (BadDigest) and stores nothing', async () => {
    await expect(t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'bad.txt', Body: 'abc', ChecksumCRC32: 'AAAAAA==' }))).rejects.toMatchObject({
      name: 'BadDigest',
    });
    await expect(t.clients.s3.send(new HeadObjectCommand({ Bucket, Key: 'bad.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('serves a byte range', async () => {
    await t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'range.txt', Body: '0123456789' }));
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'range.txt', Range: 'bytes=2-5' }));
    expect(await got.Body?.transformToString()).toBe('2345');
    expect(got.ContentRange).toBe('bytes 2-5/10');
  });

  it('copies an object and deletes many at once', async () => {
    await t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'src.json', Body: '{"a":1}' }));
    await t.clients.s3.send(new CopyObjectCommand({ Bucket, Key: 'dst.json', CopySource: `${Bucket}/src.json` }));
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'dst.json' }));
    expect(await got.Body?.transformToString()).toBe('{"a":1}');
    const res = await t.clients.s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'src.json' }, { Key: 'dst.json' }] } }));
    expect(res.Deleted?.map((d) => d.Key).sort()).toEqual(['dst.json', 'src.json']);
    const list = await t.clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'src' }));
    expect(list.KeyCount).toBe(0);
  });

  it('lists with prefix and delimiter, and pages past 1,000 keys with continuation tokens', async () => {
    const keys: string[] = [];
    for (let h = 0; h < 3; h++) for (let i = 0; i < 450; i++) keys.push(`web/2026/11/21/${String(h).padStart(2, '0')}/obj-${String(i).padStart(4, '0')}.gz`);
    keys.push('web/2026/11/22/00/last.gz', 'app/2026/11/21/00/x.gz');
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((Key) => t.clients.s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }))));
    }
    const listed: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: t.clients.s3 }, { Bucket, Prefix: 'web/' })) {
      pages++;
      for (const c of page.Contents ?? []) listed.push(c.Key as string);
    }
    const expected = keys.filter((k) => k.startsWith('web/')).sort();
    expect(pages).toBe(2);
    expect(listed).toEqual(expected);

    const hours = await t.clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'web/2026/11/', Delimiter: '/' }));
    expect(hours.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['web/2026/11/21/', 'web/2026/11/22/']);
    expect(hours.Contents ?? []).toEqual([]);

    const small = await t.clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'web/2026/11/21/', Delimiter: '/', MaxKeys: 2 }));
    expect(small.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['web/2026/11/21/00/', 'web/2026/11/21/01/']);
    expect(small.IsTruncated).toBe(true);
    const rest = await t.clients.s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: 'web/2026/11/21/', Delimiter: '/', MaxKeys: 2, ContinuationToken: small.NextContinuationToken }),
    );
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['web/2026/11/21/02/']);
    expect(rest.IsTruncated).toBe(false);
  });

  it('completes a multipart upload from @aws-sdk/lib-storage', async () => {
    const size = 12 * 1024 * 1024 + 123;
    const body = Buffer.alloc(size, 'x');
    body.write('start', 0);
    body.write('end', size - 3);
    const upload = new Upload({ client: t.clients.s3, params: { Bucket, Key: 'big/multipart.bin', Body: Readable.from([body]) }, partSize: 5 * 1024 * 1024 });
    const result = await upload.done();
    expect(result.ETag).toMatch(/-3"$/);
    const head = await t.clients.s3.send(new HeadObjectCommand({ Bucket, Key: 'big/multipart.bin' }));
    expect(head.ContentLength).toBe(size);
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'big/multipart.bin', Range: `bytes=${size - 3}-` }));
    expect(await got.Body?.transformToString()).toBe('end');
  });

  it('keeps objects across a restart on the same data directory', async () => {
    await t.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'durable.txt', Body: 'kept' }));
    const dataDir = t.dataDir;
    await t.stop({ keepData: true });
    t = await startTestCloud({ dataDir });
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'durable.txt' }));
    expect(await got.Body?.transformToString()).toBe('kept');
  });
});
