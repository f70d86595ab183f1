import type { z } from 'zod';
import { EnvironmentConfigSchema, type EnvironmentConfig } from './schema';

/** Every name the stack gives a resource starts with this (stack, streams, schedules, workgroup). */
export function resourceNamePrefix(envName: string): string {
  return `clickstream-${envName}`;
}

/** Firehose stream and schedule names allow 64 characters. */
const MAX_RESOURCE_NAME = 64;

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
    throw new ConfigError(
      'cdk.json has no "environments" object under "context": add one with an entry per environment (see docs/deploy.md, "Configure the environment").',
    );
  }
  const known = Object.keys(environments);
  if (!envName) {
    throw new ConfigError(`Choose an environment with -c env=<name>; configured: ${known.join(', ') || '(none)'}.`);
  }
  if (!Object.prototype.hasOwnProperty.call(environments, envName)) {
    throw new ConfigError(
      `Unknown environment "${envName}": configured are ${known.join(', ') || '(none)'}. Add it under context.environments in cdk.json or pick one of those.`,
    );
  }
  const parsed = EnvironmentConfigSchema.safeParse((environments as Record<string, unknown>)[envName]);
  if (!parsed.success) {
    throw new ConfigError(formatIssues(envName, parsed.error.issues));
  }
  const nameIssues = parsed.data.sources.flatMap((s, i) => {
    // The longest name made from a source name: its verification schedule (Scheduler: 64 characters).
    const longest = `${resourceNamePrefix(envName)}-verify-${s.name}`;
    const max = MAX_RESOURCE_NAME - (longest.length - s.name.length);
    return longest.length > MAX_RESOURCE_NAME
      ? [
          {
            path: ['sources', i, 'name'],
            message: `"${s.name}" makes the schedule name "${longest}" ${longest.length} characters; names allow ${MAX_RESOURCE_NAME}: use at most ${max} characters here`,
          },
        ]
      : [];
  });
  if (nameIssues.length > 0) throw new ConfigError(formatIssues(envName, nameIssues as unknown as z.core.$ZodIssue[]));
  return parsed.data;
}
