import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/**
 * A PostgreSQL server for the tests that need real concurrent transactions (the `--warehouse-url`
 * warehouse): `CLICKSTREAM_TEST_POSTGRES_URL` (a superuser's URL, e.g. a server `.ci/run` started),
 * or else a throwaway cluster of this machine's PostgreSQL (Debian's `postgresql` package), made and
 * started for this test file and removed at the end.
 */
export interface PostgresServer {
  /** A new, empty database on the server: its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const given = process.env.CLICKSTREAM_TEST_POSTGRES_URL;
  if (given) return { createDatabase: () => createDatabase(given), stop: async () => undefined };
  return startThrowawayCluster();
}

async function createDatabase(serverUrl: string): Promise<string> {
  const name = `clickstream_test_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `initdb` and `pg_ctl` on the PATH, or in Debian's versioned directory. */
function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  const debian = '/usr/lib/postgresql';
  const versions = fs.existsSync(debian) ? fs.readdirSync(debian).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(debian, v, 'bin', name))) return path.join(debian, v, 'bin', name);
  throw new Error(
    `PostgreSQL's ${name} was not found: install the server (Debian: apt-get install postgresql) or set CLICKSTREAM_TEST_POSTGRES_URL to a superuser's URL`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startThrowawayCluster(): Promise<PostgresServer> {
  const initdb = binary('initdb');
  const pgCtl = binary('pg_ctl');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clickstream-pg-'));
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
  const asRoot = process.getuid?.() === 0;
  const run = (file: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : file, asRoot ? ['-u', 'postgres', '--', file, ...args] : args, { stdio: 'pipe' });
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  run(initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const port = await freePort();
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
  run(pgCtl, ['-D', data, '-o', settings, '-l', path.join(dir, 'log'), '-w', 'start']);
  const serverUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    createDatabase: () => createDatabase(serverUrl),
    async stop() {
      try {
        run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
