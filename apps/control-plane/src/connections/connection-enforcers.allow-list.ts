import { NAME_PATTERN, servesConnection, type EnforcerKey } from '@portcullis/contracts';
import { ConfigError } from '@portcullis/platform';

/** The allow-list entry meaning "every enforcer" (alone in its list). */
export const ALL_ENFORCERS = '*';
/** Most entries a connection's allow-list may have. */
export const MAX_ALLOWED_ENFORCERS = 256;
/** The environment variable that sets the allow-list of connections created without one. */
export const DEFAULT_ENFORCERS_ENV = 'CONNECTION_DEFAULT_ENFORCERS';

/** Nest injection token of the default allow-list (`string[]`), read once at boot. */
export const CONNECTION_DEFAULT_ENFORCERS = Symbol('CONNECTION_DEFAULT_ENFORCERS');

/** What is wrong with an allow-list: the entry at fault (null: the list as a whole) and why. */
export interface AllowListProblem {
  entry: number | null;
  problem: string;
}

/**
 * What makes `list` not a connection's enforcer allow-list, or null when it is one: `["*"]`,
 * distinct enforcer ids (as ENFORCER_ID and the enforcer keys bucket spell them), or empty (none).
 */
export function enforcerAllowListProblem(list: readonly string[]): AllowListProblem | null {
  if (list.length > MAX_ALLOWED_ENFORCERS)
    return { entry: null, problem: `must have at most ${MAX_ALLOWED_ENFORCERS} entries` };
  const seen = new Set<string>();
  for (const [i, id] of list.entries()) {
    if (id === ALL_ENFORCERS) {
      if (list.length > 1)
        return { entry: i, problem: 'must not be "*" unless "*" is the only entry' };
      continue;
    }
    if (!NAME_PATTERN.test(id))
      return {
        entry: i,
        problem: `must be "*" or an enforcer id matching ${String(NAME_PATTERN)}`,
      };
    if (seen.has(id)) return { entry: i, problem: `repeats "${id}"` };
    seen.add(id);
  }
  return null;
}

/**
 * Whether the control plane seals a connection's secret to `key`: its enforcer id must be on the
 * connection's allow-list (the control plane's decision) AND the enforcer must say it serves the
 * connection (its own, least-privilege choice). The `serves` claim alone is never enough: any
 * enforcer can claim `*`.
 */
export function mayReceiveSecret(
  allowed: readonly string[],
  key: EnforcerKey,
  connection: string,
): boolean {
  const listed = allowed.includes(ALL_ENFORCERS) || allowed.includes(key.enforcer_id);
  return listed && servesConnection(key.serves, connection);
}

/**
 * {@link DEFAULT_ENFORCERS_ENV} as an allow-list: unset means `["*"]` (every enforcer, as before
 * allow-lists existed); set but empty means `[]` (no enforcer until the connection lists some);
 * otherwise a comma list. Throws {@link ConfigError} naming the variable.
 */
export function loadDefaultEnforcers(env: Record<string, string | undefined>): string[] {
  const raw = env[DEFAULT_ENFORCERS_ENV];
  if (raw === undefined) return [ALL_ENFORCERS];
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = enforcerAllowListProblem(list);
  if (bad)
    throw new ConfigError(
      DEFAULT_ENFORCERS_ENV,
      bad.entry === null ? bad.problem : `entry ${bad.entry + 1} ${bad.problem}`,
    );
  return list;
}
