import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/buildApp';
import { cdkJsonContext } from '../support/synth';

type Report = { pluginReports: Array<{ violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }> };

/** Synthesizes `app` with cdk-nag's AwsSolutions pack and returns every unacknowledged finding. */
function nagFindings(build: (app: App) => void): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
  try {
    const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch (e) {
      if (!/Validation ?failed/i.test(String(e))) throw e;
    }
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
    return report.pluginReports.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((res) => `${v.ruleName} at ${res.constructPath}`)));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('cdk-nag AwsSolutions', () => {
  it.each(['local', 'dev', 'prod'])('finds nothing unacknowledged in the %s stack', (envName) => {
    expect(nagFindings((app) => buildApp(app, envName))).toEqual([]);
  });

  it('does report findings (control: a bare bucket)', () => {
    const findings = nagFindings((app) => new s3.Bucket(new Stack(app, 'Bare'), 'Bucket'));
    expect(findings).toEqual(expect.arrayContaining(['AwsSolutions-S1 at Bare/Bucket/Resource', 'AwsSolutions-S10 at Bare/Bucket/Resource']));
  });
});
