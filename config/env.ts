import { z } from 'zod';

// What every process's settings share: one way to read process.env, one error naming each bad
// variable, one exit when the configuration is invalid. Each process keeps only its schema.

/** A bad configuration; the subclasses name the process whose it is. */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
}

/** The variables that are set: empty strings count as unset, as they do for most shells' `VAR= cmd`. */
export function presentEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/**
 * The settings `schema` reads from the set variables, or `invalid` of a message listing each bad
 * variable with what is wrong with it, under `Invalid ${what}:`.
 */
export function parseEnv<Schema extends z.ZodType>(
  schema: Schema,
  present: Record<string, string>,
  what: string,
  invalid: (message: string) => ConfigError,
): z.output<Schema> {
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw invalid(`Invalid ${what}:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

/**
 * A process started with a bad configuration says which variables are wrong, without a stack
 * (the message is the whole story), and exits 2, the code of a usage error, so that a supervisor
 * tells it from a crash (1). Anything else is left to the caller.
 */
export function exitOnConfigError(error: unknown): void {
  if (!(error instanceof ConfigError)) return;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

/** `true` or `false`, nothing else: a typo must not turn a setting off. */
export const envBoolean = z.enum(['true', 'false'], 'must be true or false').transform((text) => text === 'true');

export const envPort = z.coerce.number().int().min(0).max(65535);

export const envDatabaseUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL');

export const envLogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
