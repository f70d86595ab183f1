import fc from 'fast-check';
import { startTestCloud, type TestCloud } from '../../support/localCloud';

/** Random bodies, headers and paths through the real collector endpoint: never a 5xx, never a crash. */
describe('Collector fuzzing', () => {
  let t: TestCloud;
  let key: string;
  beforeAll(async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    key = t.cloud.endpoints.sources[0].writeKeys[0];
  });
  afterAll(() => t.stop());

  const message = fc.record(
    {
      type: fc.oneof(fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias'), fc.string(), fc.integer()),
      event: fc.oneof(fc.string(), fc.constant(undefined), fc.integer()),
      userId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      anonymousId: fc.oneof(fc.string(), fc.constant(undefined)),
      groupId: fc.oneof(fc.string(), fc.constant(undefined)),
      previousId: fc.oneof(fc.string(), fc.constant(undefined)),
      timestamp: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
        fc.integer(),
      ),
      sentAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      properties: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }))),
      context: fc.jsonValue({ maxDepth: 3 }),
      messageId: fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc
      .record({
        batch: fc.array(message, { maxLength: 30 }),
        context: fc.jsonValue({ maxDepth: 2 }),
        sentAt: fc.oneof(
          fc.string(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
      })
      .map((b) => JSON.stringify(b)),
    message.map((m) => JSON.stringify(m)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string(),
    fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a).toString('latin1')),
  );

  it('answers every random request with 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('/v1/batch', '/v1/b', '/v1/t', '/v1/track', '/v1/identify', '/v1/g', '/v1/x', '/'),
        fc.boolean(),
        async (raw, path, auth) => {
          const res = await fetch(`${t.cloud.endpoints.collector}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain', ...(auth ? { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` } : {}) },
            body: raw,
          });
          await res.text();
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
