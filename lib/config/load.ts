import type { z } from 'zod';
import { EnvironmentConfigSchema, type EnvironmentConfig } from './schema';

/** A configuration that cannot be deployed; the message names each bad field and its fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), '');
}

function formatIssues(envName: string, issues: ReadonlyArray<z.core.$ZodIssue>): string {
  const lines = issues.map((issue) => `  - environments.${envName}${formatPath(issue.path)}: ${issue.message}`);
  return `Invalid configuration for environment "${envName}" (cdk.json → context.environments.${envName}):\n${lines.join('\n')}`;
}

/**
 * Reads and validates one environment from the `environments` context object.
 *
 * @param environments the value of the `environments` context key (from cdk.json or `-c`)
 * @param envName the environment selected with `-c env=<name>`
 */
export function loadEnvironmentConfig(environments: unknown, envName: string | undefined): EnvironmentConfig {
  if (environments === undefined || environments === null || typeof environments !== 'object' || Array.isArray(environments)) {
    throw new ConfigError('cdk.json has no "environments" object under "context": add one with an entry per environment (see README, "Configuration").');
  }
  const known = Object.keys(environments);
  if (!envName) {
    throw new ConfigError(`Choose an environment with -c env=<name>; configured: ${known.join(', ') || '(none)'}.`);
  }
  if (!Object.prototype.hasOwnProperty.call(environments, envName)) {
    throw new ConfigError(`Unknown environment "${envName}": configured are ${known.join(', ') || '(none)'}. Add it under context.environments in cdk.json or pick one of those.`);
  }
  const parsed = EnvironmentConfigSchema.safeParse((environments as Record<string, unknown>)[envName]);
  if (!parsed.success) {
    throw new ConfigError(formatIssues(envName, parsed.error.issues));
  }
  return parsed.data;
}
