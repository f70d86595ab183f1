import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the lock file of a data directory says: who runs the stack on it. */
export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

export const LOCK_FILE = 'lock.json';

/** A second stack on a data directory that a running stack holds. */
export class DataDirLockedError extends Error {
  constructor(
    dataDir: string,
    public readonly holder: LockInfo,
  ) {
    super(
      `The data directory ${dataDir} is in use by a running stack: process ${holder.pid} on ${holder.host}, started ${holder.startedAt}. Stop it (Ctrl-C in its terminal, or kill ${holder.pid}) or start with another --data-dir.`,
    );
    this.name = 'DataDirLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent has not reaped it yet (a zombie) still answers signal 0.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc here: trust the signal
  }
}

/** The stack holding `dataDir`, if its process is still alive on this host. */
export function lockHolder(dataDir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8')) as LockInfo;
    if (info.host !== os.hostname()) return info; // another machine's process: cannot tell, assume alive
    return alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data directory for this process: fails with the holder's pid when a live stack has
 * it, takes over a lock whose process has ended (a crash or SIGKILL).
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const file = path.join(dataDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(info)}\n`, { flag: 'wx' });
      return {
        release() {
          const current = (() => {
            try {
              return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
            } catch {
              return undefined;
            }
          })();
          if (current?.pid === process.pid && current.startedAt === info.startedAt) fs.rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = lockHolder(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      fs.rmSync(file, { force: true }); // stale: its process has ended
    }
  }
  throw new Error(`Could not lock ${dataDir}: another process keeps taking it`);
}
