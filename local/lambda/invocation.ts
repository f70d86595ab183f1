import { AsyncLocalStorage } from 'node:async_hooks';
import type * as http from 'node:http';
import * as net from 'node:net';

/** The function invocation a piece of code runs in (local mode runs every function in one process). */
export interface Invocation {
  /** The function's logical id in the template. */
  readonly functionId: string;
  /** Set when the invocation timed out or crashed: on AWS its sandbox is gone, so are its calls. */
  ended: boolean;
}

export const invocations = new AsyncLocalStorage<Invocation>();

/** The header that tells the edge which function signed a request (local mode's stand-in for its credentials). */
export const CALLER_HEADER = 'x-clickstream-caller';

let installed = false;

/**
 * Every HTTP request a function's code makes (the AWS SDK's, through `http.request`) carries the
 * function's identity to the edge, which evaluates IAM for it; a request from an invocation that
 * already timed out never leaves — on AWS the sandbox would be stopped. Requests from outside any
 * invocation (the CLI, tests) carry nothing and act as an administrator.
 */
export function installInvocationIdentity(): void {
  if (installed) return;
  installed = true;
  // The module object itself (an `import *` namespace is read-only): what the SDK's handler reads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const httpModule = require('node:http') as typeof http;
  const original = httpModule.request;
  const patched = ((...args: unknown[]) => {
    const invocation = invocations.getStore();
    if (invocation) {
      const optionsIndex = typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof URL) ? 0 : typeof args[1] === 'object' && args[1] !== null ? 1 : -1;
      if (optionsIndex >= 0) {
        const options = args[optionsIndex] as http.RequestOptions;
        args[optionsIndex] = { ...options, headers: { ...(options.headers as Record<string, string>), [CALLER_HEADER]: invocation.functionId } };
      }
      if (invocation.ended && optionsIndex >= 0) {
        // A socket that never connects: nothing of the request reaches the edge.
        const error = Object.assign(new Error(`local mode: ${invocation.functionId} timed out or crashed; on AWS its execution environment is stopped and this call would never be made`), { code: 'ECONNRESET' });
        args[optionsIndex] = {
          ...(args[optionsIndex] as http.RequestOptions),
          agent: undefined,
          createConnection: () => {
            const socket = new net.Socket();
            process.nextTick(() => socket.destroy(error));
            return socket;
          },
        };
      }
    }
    return (original as (...a: unknown[]) => http.ClientRequest)(...args);
  }) as typeof http.request;
  (httpModule as { request: typeof http.request }).request = patched;
}
