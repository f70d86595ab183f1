import { archiveDayOfKey, isArchiveFile, parseArchiveUri, reshard } from '../../../lambdas/core/archive';

describe('Segment archive layout', () => {
  it('reads the received day from the epoch-milliseconds folder, and nothing else', () => {
    const prefix = 'segment-logs/src/';
    expect(archiveDayOfKey(prefix, `${prefix}1759276800000/x.gz`)).toEqual(new Date('2025-10-01T00:00:00Z'));
    expect(archiveDayOfKey(prefix, `${prefix}1759276800001/x.gz`)).toBeUndefined(); // not a midnight
    expect(archiveDayOfKey(prefix, `${prefix}2025-10-01/x.gz`)).toBeUndefined();
    expect(archiveDayOfKey(prefix, `other/1759276800000/x.gz`)).toBeUndefined();
    expect([isArchiveFile('a/b.gz'), isArchiveFile('a/manifest.json')]).toEqual([true, false]);
  });

  it('parses s3:// archive addresses, the prefix always ending in /', () => {
    expect(parseArchiveUri('s3://my-bucket/segment-logs/src')).toEqual({ bucket: 'my-bucket', prefix: 'segment-logs/src/' });
    expect(parseArchiveUri('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseArchiveUri('my-bucket/x')).toBeUndefined();
    expect(parseArchiveUri('s3://My_Bucket/x')).toBeUndefined();
  });

  it('puts each message in the raw object of the hour it was received, keeps it as archived, and names what it cannot place', () => {
    const a = JSON.stringify({ messageId: 'm1', type: 'track', event: 'E', receivedAt: '2025-10-01T09:59:59.999Z' });
    const b = JSON.stringify({ messageId: 'm2', type: 'page', receivedAt: '2025-10-01T10:00:00.000Z' });
    const text = [a, b, '', 'not json', '[1]', '{"type":"track","receivedAt":"2025-10-01T10:00:00Z"}', '{"messageId":"m3","type":"track","receivedAt":"yesterday"}'].join('\n');
    const r = reshard('web', 'segment-logs/src/1759276800000/f.gz', text);
    expect(r.messages).toBe(2);
    const keys = [...r.objects.keys()];
    expect(keys).toEqual([expect.stringMatching(/^web\/2025\/10\/01\/09\/segment-archive-[0-9a-f]{24}\.gz$/), expect.stringMatching(/^web\/2025\/10\/01\/10\/segment-archive-[0-9a-f]{24}\.gz$/)]);
    expect([...r.objects.values()]).toEqual([[a], [b]]);
    expect(r.invalid.map((x) => [x.line, x.reason.replace(/:.*/, '')])).toEqual([[4, 'not JSON'], [5, 'not a JSON object'], [6, 'no messageId'], [7, 'no valid receivedAt']]);
    // The same archive object gives the same keys: an import run twice overwrites, never adds.
    expect([...reshard('web', 'segment-logs/src/1759276800000/f.gz', text).objects.keys()]).toEqual(keys);
    expect([...reshard('web', 'segment-logs/src/1759276800000/g.gz', text).objects.keys()]).not.toEqual(keys);
  });
});
