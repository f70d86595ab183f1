import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalCloud } from '../../../local/LocalCloud';
import { type CfnTemplate, synthesizeTemplate } from '../../../local/template';
import { startTestCloud, type TestCloud } from '../../support/localCloud';
import { functionId, runExecution, runLoad, sendBatch, sql } from '../../support/pipeline';

type Json = Record<string, unknown>;

/** The local template as synthesized, changed by `edit` (a construct that no longer does something). */
function editedTemplate(edit: (template: CfnTemplate) => void): CfnTemplate {
  const template = JSON.parse(JSON.stringify(synthesizeTemplate('local'))) as CfnTemplate;
  edit(template);
  return template;
}

/** The warehouse's user role: the one role tagged with RedshiftDbRoles. */
const userRoleId = (template: CfnTemplate) =>
  Object.entries(template.Resources).find(
    ([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties?.Tags ?? []).includes('RedshiftDbRoles'),
  )?.[0] as string;

/**
 * Rule: the Data API runs a function's statements as the database user Redshift Serverless maps
 * its role to (`IAMR:<role>`, created at first sign-in, granted the roles of its RedshiftDbRoles
 * tag), so ownership and privileges decide as on AWS; the namespace admin (the bootstrap's secret,
 * and callers from outside the stack) is a superuser.
 */
describe('warehouse identities', () => {
  describe('the stack as synthesized', () => {
    let t: TestCloud;
    beforeAll(async () => {
      t = await startTestCloud({ bufferIntervalSeconds: 3600 });
    });
    afterAll(() => t.stop());

    it("runs the bootstrap custom resource at start: the loaders' role exists with CREATE on the database", async () => {
      expect(await sql(t, "SELECT role_name FROM svv_roles WHERE role_name = 'clickstream_loader'")).toEqual([['clickstream_loader']]);
      expect(await sql(t, "SELECT has_database_privilege('clickstream_loader', current_database(), 'CREATE')")).toEqual([[true]]);
    });

    it("loads as IAMR:<user role>, which owns every schema and table it created and holds the loaders' role", async () => {
      await sendBatch(t, [
        { type: 'track', event: 'Identity Check', userId: 'u', messageId: 'id-1' },
        { type: 'identify', userId: 'u', messageId: 'id-2', traits: { a: 1 } },
      ]);
      await runLoad(t);
      const user = `IAMR:${userRoleId(synthesizeTemplate('local'))}`;
      expect(await sql(t, "SELECT DISTINCT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'web'")).toEqual([[`"${user}"`]]);
      const owners = await sql(t, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'web'");
      expect(owners).toEqual([[user]]);
      expect(await sql(t, `SELECT pg_has_role('${user}', 'clickstream_loader', 'MEMBER')`)).toEqual([[true]]);
    }, 60_000);

    it('shows a function only what its database user may see: a table the admin made is not in its catalog', async () => {
      await sql(t, 'CREATE SCHEMA IF NOT EXISTS admin_only');
      await sql(t, 'CREATE TABLE IF NOT EXISTS admin_only.secrets (a INT)');
      const catalog = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'admin_only'";
      expect(await sql(t, catalog)).toEqual([['secrets']]);
      const planLoad = functionId(synthesizeTemplate('local'), 'plan-load');
      expect(await sql(t, catalog, { as: planLoad })).toEqual([]);
      await expect(sql(t, 'SELECT * FROM admin_only.secrets', { as: planLoad })).rejects.toThrow(/permission denied for schema admin_only/);
      expect(await sql(t, 'SELECT current_user', { as: planLoad })).toEqual([[`IAMR:${userRoleId(synthesizeTemplate('local'))}`]]);
    });
  });

  describe('a user role without its RedshiftDbRoles tag', () => {
    let t: TestCloud;
    beforeAll(async () => {
      const template = editedTemplate((tpl) => {
        const role = tpl.Resources[userRoleId(tpl)].Properties as Json;
        role.Tags = (role.Tags as Array<{ Key: string }>).filter((tag) => tag.Key !== 'RedshiftDbRoles');
      });
      t = await startTestCloud({ bufferIntervalSeconds: 3600, template });
    });
    afterAll(() => t.stop());

    it('cannot create its schema: the load fails with the error Redshift gives', async () => {
      await sendBatch(t, [{ type: 'track', event: 'Identity Check', userId: 'u', messageId: 'id-3' }]);
      const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' });
      expect(d.status).toBe('FAILED');
      expect(d.cause).toMatch(/permission denied for database clickstream/);
    }, 60_000);
  });

  describe('a stack without the bootstrap custom resource', () => {
    let t: TestCloud;
    beforeAll(async () => {
      const template = editedTemplate((tpl) => {
        for (const [id, r] of Object.entries(tpl.Resources)) if (r.Type === 'Custom::WarehouseBootstrap') delete tpl.Resources[id];
      });
      t = await startTestCloud({ bufferIntervalSeconds: 3600, template });
    });
    afterAll(() => t.stop());

    it("has no loaders' role, so the first load fails on CREATE SCHEMA", async () => {
      expect(await sql(t, "SELECT count(*) FROM svv_roles WHERE role_name = 'clickstream_loader'")).toEqual([[0]]);
      await sendBatch(t, [{ type: 'track', event: 'Identity Check', userId: 'u', messageId: 'id-4' }]);
      const d = await runExecution(t, t.cloud.endpoints.stateMachines.load, { source: 'web' });
      expect(d.status).toBe('FAILED');
      expect(d.cause).toMatch(/permission denied for database clickstream/);
    }, 60_000);
  });

  it('refuses a data directory of the older format (tables owned by the admin) with what to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'old-format-'));
    fs.mkdirSync(path.join(dir, 'warehouse'));
    await expect(startLocalCloud({ dataDir: dir, edgePort: 0, collectorPort: 0, loadIntervalSeconds: 0 })).rejects.toThrow(
      /made by an older local mode \(format 1, this one reads 2.*Start with a new --data-dir, or delete/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
