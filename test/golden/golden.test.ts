import * as os from 'node:os';
import * as path from 'node:path';
import { expectGoldenText } from '../support/golden';

describe('golden files', () => {
  it('fails when a golden file is missing instead of writing it', () => {
    const missing = path.join(os.tmpdir(), `no-such-golden-${process.pid}.json`);
    const saved = process.env.UPDATE_GOLDEN;
    delete process.env.UPDATE_GOLDEN;
    try {
      expect(() => expectGoldenText(missing, '{}\n')).toThrow(/is missing: run UPDATE_GOLDEN=1/);
    } finally {
      if (saved !== undefined) process.env.UPDATE_GOLDEN = saved;
    }
  });
});
