import * as zlib from 'node:zlib';
import { DescribeDeliveryStreamCommand, PutRecordBatchCommand, PutRecordCommand, ResourceNotFoundException } from '@aws-sdk/client-firehose';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { eventually, startTestCloud, type TestCloud } from '../../support/localCloud';

describe('local edge: Firehose with the real @aws-sdk/client-firehose', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 1 });
  });
  afterAll(() => t.stop());

  const rawObjects = async (prefix: string) =>
    (await t.clients.s3.send(new ListObjectsV2Command({ Bucket: t.cloud.endpoints.buckets.raw, Prefix: prefix }))).Contents ?? [];

  const readGz = async (key: string) => {
    const got = await t.clients.s3.send(new GetObjectCommand({ Bucket: t.cloud.endpoints.buckets.raw, Key: key }));
    return zlib.gunzipSync(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())).toString('utf8');
  };

  it('describes the synthesized stream of each source', async () => {
    const res = await t.clients.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'clickstream-local-web' }));
    const d = res.DeliveryStreamDescription;
    expect(d?.DeliveryStreamStatus).toBe('ACTIVE');
    expect(d?.Destinations?.[0].ExtendedS3DestinationDescription).toMatchObject({
      BucketARN: `arn:aws:s3:::${t.cloud.endpoints.buckets.raw}`,
      Prefix: 'web/!{timestamp:yyyy/MM/dd/HH}/',
      CompressionFormat: 'GZIP',
    });
    await expect(t.clients.firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('delivers PutRecord and PutRecordBatch records, gzip-compressed, under web/YYYY/MM/DD/HH/ after the buffer interval', async () => {
    const hour = new Date().toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
    await t.clients.firehose.send(new PutRecordCommand({ DeliveryStreamName: 'clickstream-local-web', Record: { Data: Buffer.from('{"n":1}\n') } }));
    const batch = await t.clients.firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'clickstream-local-web', Records: [2, 3, 4].map((n) => ({ Data: Buffer.from(`{"n":${n}}\n`) })) }),
    );
    expect(batch.FailedPutCount).toBe(0);
    expect(batch.RequestResponses).toHaveLength(3);
    const objects = await eventually(
      async () => {
        const list = await rawObjects(`web/${hour}/`);
        return list.length > 0 ? list : undefined;
      },
      10_000,
      'a delivered object',
    );
    expect(objects).toHaveLength(1);
    expect(objects[0].Key).toMatch(/^web\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/clickstream-local-web-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$/);
    expect(await readGz(objects[0].Key as string)).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('rejects a batch over 500 records and stores nothing of it', async () => {
    const before = t.cloud.firehose.counters.records;
    await expect(
      t.clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'clickstream-local-app', Records: Array.from({ length: 501 }, () => ({ Data: Buffer.from('x') })) }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(t.cloud.firehose.counters.records).toBe(before);
  });

  it('keeps records accepted before a stop and delivers them on the next start', async () => {
    const dataDir = t.dataDir;
    await t.stop({ keepData: true });
    t = await startTestCloud({ dataDir, bufferIntervalSeconds: 3600 });
    await t.clients.firehose.send(new PutRecordCommand({ DeliveryStreamName: 'clickstream-local-app', Record: { Data: Buffer.from('{"kept":true}\n') } }));
    // Simulate a crash: the process goes away without flushing; the write-ahead log stays.
    t.cloud.scheduler.stop();
    const crashed = t;
    (crashed.cloud.firehose as unknown as { buffers: Map<string, unknown> }).buffers.clear();
    await crashed.stop({ keepData: true });
    t = await startTestCloud({ dataDir, bufferIntervalSeconds: 1 });
    const objects = await rawObjects('app/');
    const bodies = await Promise.all(objects.map((o) => readGz(o.Key as string)));
    expect(bodies.join('')).toContain('{"kept":true}');
  });
});

describe('local edge: Firehose buffering by size', () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 }); // only the size can trigger a delivery here
  });
  afterAll(() => t.stop());

  it("delivers as soon as the buffer reaches the stream's size hint (8 MiB in the local environment)", async () => {
    const before = t.cloud.firehose.counters.objects;
    const record = Buffer.alloc(900 * 1024, 'a');
    for (let i = 0; i < 3; i++) {
      // 3 × 3 records × 900 KiB ≈ 7.9 MiB; the next call passes 8 MiB.
      await t.clients.firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'clickstream-local-app', Records: [record, record, record].map((Data) => ({ Data })) }),
      );
    }
    expect(t.cloud.firehose.counters.objects).toBe(before);
    await t.clients.firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'clickstream-local-app', Records: [{ Data: record }] }));
    expect(t.cloud.firehose.counters.objects).toBe(before + 1);
  });
});
