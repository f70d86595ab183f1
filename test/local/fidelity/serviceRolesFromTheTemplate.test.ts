import type { CfnTemplate } from '../../../local/template';
import { localTemplateWithout } from '../../support/grants';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { sendBatch } from '../../support/pipeline';

/** The local template without `action` on every role whose logical id contains `rolePart` (nested stacks prefix theirs). */
function withoutAction(rolePart: string, action: string): { template: CfnTemplate; roles: ReadonlyArray<string> } {
  return localTemplateWithout(action, (template) =>
    Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::IAM::Role' && id.includes(rolePart)),
  );
}

/**
 * Rule: the roles AWS services assume for the stack — Firehose's delivery role (writing raw
 * objects), EventBridge Scheduler's role (starting the load executions) — are evaluated against
 * their policies from the template, like the functions' roles. A refused delivery keeps its
 * records and is tried again (Firehose, "Handle data delivery failures"); a refused tick starts
 * nothing (Scheduler counts it as a target error).
 */
describe('service roles from the synthesized template', () => {
  let t: TestCloud | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('delivers nothing without s3:PutObject on the delivery role, keeps the records, and delivers them once the grant is back', async () => {
    const { template, roles } = withoutAction('SourceStreamsSourceweb', 's3:PutObject');
    expect(roles).toHaveLength(1);
    t = await startTestCloud({ template, bufferIntervalSeconds: 3600 });
    await sendBatch(t, [{ type: 'track', event: 'Role Check', userId: 'u', messageId: 'role-1' }]);
    const raw = t.cloud.endpoints.buckets.raw;
    expect([...t.cloud.store.keys(raw, 'web/')]).toEqual([]);
    expect(t.cloud.firehose.deliveryErrors).toEqual([
      {
        stream: 'clickstream-local-web',
        code: 'S3.AccessDenied',
        message: expect.stringMatching(
          new RegExp(
            `^User: arn:aws:sts::000000000000:assumed-role/${roles[0]}/local is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::${raw}/web/`,
          ),
        ),
      },
    ]);
    // The grant restored (the same role, the template's policy): the kept records arrive, once.
    t.cloud.firehose.authorizeRole = () => undefined;
    t.cloud.firehose.flushAll();
    const keys = [...t.cloud.store.keys(raw, 'web/')];
    expect(keys).toHaveLength(1);
  });

  it('starts no load when the Scheduler role lacks states:StartExecution', async () => {
    const { template, roles } = withoutAction('SchedulerRoleForTarget', 'states:StartExecution');
    expect(roles.length).toBeGreaterThan(0);
    t = await startTestCloud({ template });
    t.cloud.scheduler.tick();
    expect(t.cloud.stepFunctions.allExecutions()).toEqual([]);
    expect(t.cloud.scheduler.errors.map((e) => e.schedule).sort()).toEqual(['clickstream-local-load-app', 'clickstream-local-load-web']);
    expect(t.cloud.scheduler.errors[0].message).toMatch(
      /is not authorized to perform: states:StartExecution on resource: arn:aws:states:us-east-1:000000000000:stateMachine:clickstream-local-load because no identity-based policy allows/,
    );
  });

  it('lets both through on the grants the constructs make', async () => {
    t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    await sendBatch(t, [{ type: 'track', event: 'Role Check', userId: 'u', messageId: 'role-2' }]);
    t.cloud.scheduler.tick();
    expect(t.cloud.firehose.deliveryErrors).toEqual([]);
    expect(t.cloud.scheduler.errors).toEqual([]);
    expect([...t.cloud.store.keys(t.cloud.endpoints.buckets.raw, 'web/')]).toHaveLength(1);
    expect(t.cloud.stepFunctions.allExecutions().length).toBe(2);
    await t.cloud.stepFunctions.drain(30_000);
  });
});
