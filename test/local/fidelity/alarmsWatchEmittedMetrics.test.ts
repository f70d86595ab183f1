import { SET_ASIDE_AFTER } from '../../../lambdas/core/isolation';
import { layout } from '../../../lambdas/core/layout';
import { type AlarmMetric, alarmsWithoutMetric, emittedMetrics } from '../../../local/metrics';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { runLoad, sendBatch } from '../../support/pipeline';
import { exampleEnvironments, synthEnvironment } from '../../support/synth';

type Alarm = { Properties: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string }> } };

function alarmsOf(envName: string): AlarmMetric[] {
  const { template } = synthEnvironment(envName);
  return Object.entries(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Alarm>).map(([id, a]) => ({
    alarm: `${envName}/${id}`,
    namespace: a.Properties.Namespace,
    name: a.Properties.MetricName,
    dimensions: (a.Properties.Dimensions ?? []).map((d) => d.Name),
  }));
}

/**
 * Rule: an alarm watches a metric CloudWatch really has — the exact namespace, name and dimension
 * set the code publishes (Powertools adds `service`), or an AWS service metric with its documented
 * dimensions. Otherwise it never leaves INSUFFICIENT_DATA, or (missing data = breaching) never clears.
 */
describe('alarms watch metrics that are published', () => {
  let t: TestCloud;
  let since: number;
  beforeAll(async () => {
    since = Date.now();
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    await sendBatch(t, [
      { type: 'track', event: 'Metric Check', userId: 'u', messageId: 'metric-1' },
      { type: 'nope', messageId: 'metric-2' },
    ]);
    await runLoad(t);
    // An object that already failed its loads alone (test/lambdas/load/poisonObject.test.ts plays it
    // through): the next load sets it aside and publishes ObjectsSetAside.
    const poison = `web/${new Date().toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/')}/poison.gz`;
    t.cloud.store.put(t.cloud.endpoints.buckets.raw, poison, Buffer.from('not gzip'));
    t.cloud.store.put(
      t.cloud.endpoints.buckets.staged,
      layout.isolationState('web'),
      Buffer.from(JSON.stringify({ size: 1, alone: { key: poison, failures: SET_ASIDE_AFTER }, lastError: 'Error: incorrect header check' })),
    );
    await runLoad(t);
  }, 60_000);
  afterAll(() => t.stop());

  it('captures the EMF metrics the functions print', () => {
    const names = new Set(emittedMetrics(since).map((m) => `${m.namespace} ${m.name} {${m.dimensions.join(',')}}`));
    expect(names).toContain('Clickstream EventsAccepted {Source,service}');
    expect(names).toContain('Clickstream OldestPendingObjectAgeSeconds {Source,service}');
    expect(names).toContain('Clickstream RowsLoaded {Source,service}');
  });

  it.each(Object.keys(exampleEnvironments()))('every alarm of the %s template watches a published metric with its exact dimension set', (envName) => {
    expect(alarmsWithoutMetric(alarmsOf(envName), emittedMetrics(since))).toEqual([]);
  });

  it('fails an alarm on a dimension set nobody publishes (the LoadLag alarm as it was: {Source} only)', () => {
    const planted: AlarmMetric[] = [{ alarm: 'planted', namespace: 'Clickstream', name: 'OldestPendingObjectAgeSeconds', dimensions: ['Source'] }];
    expect(alarmsWithoutMetric(planted, emittedMetrics(since))).toEqual([
      expect.stringMatching(/^planted: Clickstream OldestPendingObjectAgeSeconds \{Source\} is published by nothing \(emitted: \{Source, service\}/),
    ]);
    const service: AlarmMetric[] = [{ alarm: 'planted-aws', namespace: 'AWS/States', name: 'ExecutionsFailed', dimensions: ['StateMachineName'] }];
    expect(alarmsWithoutMetric(service, [])).toHaveLength(1);
  });
});
