import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Compares `text` with a golden file. Only `UPDATE_GOLDEN=1` writes: a golden file that is missing
 * is a failure (it must be reviewed and committed), never silently regenerated.
 */
export function expectGoldenText(file: string, text: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  if (!fs.existsSync(file)) {
    throw new Error(`Golden file ${path.relative(process.cwd(), file)} is missing: run UPDATE_GOLDEN=1 npm test, review the new file, and commit it`);
  }
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}
