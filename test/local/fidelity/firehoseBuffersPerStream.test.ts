import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { type LocalCloud, startLocalCloud } from '../../../local/LocalCloud';
import { type CfnTemplate, synthesizeTemplate } from '../../../local/template';

/**
 * Rule: each Firehose stream delivers when its own buffer interval or size is reached
 * (BufferingHints of the stream, "Configure buffering hints", Firehose Developer Guide).
 */
describe('Firehose buffers each stream for its own interval', () => {
  let cloud: LocalCloud;
  let firehose: FirehoseClient;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firehose-hints-'));
  const streamOf = (t: CfnTemplate, source: string) =>
    Object.values(t.Resources).find(
      (r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream' && String(r.Properties?.DeliveryStreamName).endsWith(`-${source}`),
    );
  beforeAll(async () => {
    const template = JSON.parse(JSON.stringify(synthesizeTemplate('local'))) as CfnTemplate;
    const hints = (source: string) =>
      (streamOf(template, source)?.Properties?.ExtendedS3DestinationConfiguration as Record<string, Record<string, number>>).BufferingHints;
    hints('web').IntervalInSeconds = 1;
    hints('app').IntervalInSeconds = 120;
    cloud = await startLocalCloud({ dataDir, edgePort: 0, collectorPort: 0, loadIntervalSeconds: 0, template });
    firehose = new FirehoseClient({ endpoint: cloud.endpoints.edge, region: 'us-east-1', credentials: { accessKeyId: 'f', secretAccessKey: 'f' } });
  });
  afterAll(async () => {
    firehose.destroy();
    await cloud.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("reports each stream's own hints and delivers the 1-second stream while the 120-second one still buffers", async () => {
    const interval = async (name: string) =>
      (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).DeliveryStreamDescription?.Destinations?.[0]
        ?.ExtendedS3DestinationDescription?.BufferingHints?.IntervalInSeconds;
    expect(await interval('clickstream-local-web')).toBe(1);
    expect(await interval('clickstream-local-app')).toBe(120);
    for (const name of ['clickstream-local-web', 'clickstream-local-app']) {
      await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: [{ Data: Buffer.from('{"messageId":"m"}\n') }] }));
    }
    await new Promise((r) => setTimeout(r, 2500));
    const delivered = (prefix: string) => [...cloud.store.keys(cloud.endpoints.buckets.raw, prefix)].length;
    expect(delivered('web/')).toBe(1);
    expect(delivered('app/')).toBe(0);
  });
});
