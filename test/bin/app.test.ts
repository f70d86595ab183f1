import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, cdkJsonContext } from '../support/synth';

const CDK = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

/** Runs the real CDK CLI (`cdk synth`) in `cwd`, offline, with the app of this repo. */
function cdkSynth(cwd: string, envName: string): { status: number | null; output: string; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
  const result = spawnSync(CDK, ['synth', '-c', `env=${envName}`, '--quiet', '--app', `${TSX} ${path.join(REPO_ROOT, 'bin', 'app.ts')}`, '-o', outdir], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`, outdir };
}

describe('bin/app.ts through the cdk CLI', () => {
  it.each(['dev', 'prod'])('synthesizes Clickstream-%s offline, bundling every function with esbuild', (envName) => {
    const { status, output, outdir } = cdkSynth(REPO_ROOT, envName);
    try {
      expect({ status, output: status === 0 ? '' : output }).toEqual({ status: 0, output: '' });
      const template = JSON.parse(fs.readFileSync(path.join(outdir, `Clickstream-${envName}.template.json`), 'utf8'));
      const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter((r) => r.Type === 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThanOrEqual(11);
      const bundles = fs.readdirSync(outdir).filter((f) => f.startsWith('asset.') && fs.existsSync(path.join(outdir, f, 'index.js')));
      expect(bundles.length).toBeGreaterThanOrEqual(11);
      // The stack and one nested stack per 40 sources (lib/constructs/SourceGroups.ts).
      expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))).toEqual([
        `Clickstream-${envName}.template.json`,
        expect.stringMatching(new RegExp(`^Clickstream${envName}SourceGroupsGroup1[0-9A-F]{8}\\.nested\\.template\\.json$`)),
      ]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('fails on a bad configuration with a message naming the field and the fix', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'badcfg-'));
    try {
      const context = cdkJsonContext();
      const environments = context.environments as Record<string, Record<string, unknown>>;
      const broken = { ...environments.dev, sources: [{ name: 'Web Site', writeKeys: ['dev-web-0f9c2d7e'] }] };
      fs.writeFileSync(path.join(dir, 'cdk.json'), JSON.stringify({ notices: false, context: { ...context, environments: { broken } } }));
      const { status, output, outdir } = cdkSynth(dir, 'broken');
      fs.rmSync(outdir, { recursive: true, force: true });
      expect(status).not.toBe(0);
      expect(output).toContain('Invalid configuration for environment "broken"');
      expect(output).toContain('environments.broken.sources[0].name: must be 1–63 characters of lowercase letters, digits and "_"');
      // The message only: no Node stack trace around it.
      expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
