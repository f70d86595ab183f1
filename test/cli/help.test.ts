import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../support/synth';

/** `npx clickstream <command> --help` loads only the help texts: no CDK, no AWS SDK (it is instant). */
describe('npx clickstream --help', () => {
  it.each(['status', 'verify', 'backfill', 'smoke', 'cost', 'forget'])('%s --help loads neither aws-cdk-lib nor the AWS SDK', (command) => {
    const probe = `process.argv = ['node', 'clickstream', '${command}', '--help'];
      process.on('exit', () => {
        const loaded = Object.keys(require.cache);
        process.stderr.write(JSON.stringify({ cdk: loaded.filter((k) => k.includes('/aws-cdk-lib/')).length, sdk: loaded.filter((k) => k.includes('/@aws-sdk/')).length }));
      });
      require('./cli/main.ts');`;
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run.stdout).toContain(`npx clickstream ${command}`);
    expect(JSON.parse(run.stderr.trim().split('\n').pop() as string)).toEqual({ cdk: 0, sdk: 0 });
  });
});
