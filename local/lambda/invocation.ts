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
      const optionsIndex =
        typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof URL) ? 0 : typeof args[1] === 'object' && args[1] !== null ? 1 : -1;
      if (optionsIndex >= 0) {
        const options = args[optionsIndex] as http.RequestOptions;
        args[optionsIndex] = { ...options, headers: { ...(options.headers as Record<string, string>), [CALLER_HEADER]: invocation.functionId } };
      }
      if (invocation.ended && optionsIndex >= 0) {
        // A socket that never connects: nothing of the request reaches the edge.
        const error = Object.assign(
          new Error(`local mode: ${invocation.functionId} timed out or crashed; on AWS its execution environment is stopped and this call would never be made`),
          { code: 'ECONNRESET' },
        );
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

/** Every function's own environment, by function id (what Lambda gives each function and nothing else). */
const environments = new Map<string, Readonly<Record<string, string>>>();
/** Names that some function of a stack sets: outside its own function, such a name is not there. */
const stackNames = new Set<string>();
let envInstalled = false;

/** Registers a function's environment (and, again, after a configuration update). */
export function registerEnvironment(functionId: string, environment: Readonly<Record<string, string>>): void {
  environments.set(functionId, environment);
  for (const name of Object.keys(environment)) stackNames.add(name);
}

/**
 * Gives each invocation only its own function's environment variables, as Lambda does: inside an
 * invocation `process.env` answers from that function's environment for every name a function of
 * the stack sets (a name only another function sets is absent), and from the process for the rest
 * (endpoint, region, credentials). Outside invocations it is the process's environment.
 */
export function installPerFunctionEnvironment(): void {
  if (envInstalled) return;
  envInstalled = true;
  const own = (): Readonly<Record<string, string>> | undefined => {
    const invocation = invocations.getStore();
    return invocation ? environments.get(invocation.functionId) : undefined;
  };
  const base = process.env;
  const view = new Proxy(base, {
    get(target, key) {
      const env = own();
      if (env && typeof key === 'string' && stackNames.has(key)) return env[key];
      return Reflect.get(target, key);
    },
    has(target, key) {
      const env = own();
      if (env && typeof key === 'string' && stackNames.has(key)) return key in env;
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const env = own();
      if (env && typeof key === 'string' && stackNames.has(key)) {
        return key in env ? { value: env[key], writable: true, enumerable: true, configurable: true } : undefined;
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    // Writes go to the process's own environment object, as plain assignments: Node's process.env
    // refuses the partial property descriptors a Proxy's default [[Set]] would define.
    set(target, key, value) {
      if (typeof key !== 'string') return Reflect.set(target, key, value);
      target[key] = String(value);
      return true;
    },
    deleteProperty(target, key) {
      if (typeof key === 'string') delete target[key];
      return true;
    },
    defineProperty(target, key, descriptor) {
      if (typeof key !== 'string' || !('value' in descriptor)) return Reflect.defineProperty(target, key, descriptor);
      target[key] = String(descriptor.value);
      return true;
    },
    ownKeys(target) {
      const env = own();
      if (!env) return Reflect.ownKeys(target);
      return [...new Set([...Reflect.ownKeys(target).filter((k) => typeof k !== 'string' || !stackNames.has(k)), ...Object.keys(env)])];
    },
  });
  Object.defineProperty(process, 'env', { value: view, writable: true, configurable: true, enumerable: true });
}
