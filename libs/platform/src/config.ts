/** Raised at boot when a configuration value is missing or malformed; names the key. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`invalid configuration: ${key} ${detail}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Typed readers over an environment. Each reader validates and names the key on failure, so a
 * process can validate its whole configuration once at boot and stop with a precise message.
 */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  private raw(key: string): string | undefined {
    const v = this.env[key];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(key: string, fallback?: string): string {
    const v = this.raw(key) ?? fallback;
    if (v === undefined) throw new ConfigError(key, 'is required');
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.raw(key);
  }

  int(key: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(key, `must be an integer, got "${v}"`);
    const n = Number(v);
    if (opts.min !== undefined && n < opts.min)
      throw new ConfigError(key, `must be >= ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max)
      throw new ConfigError(key, `must be <= ${opts.max}, got ${n}`);
    return n;
  }

  port(key: string, fallback: number): number {
    return this.int(key, fallback, { min: 0, max: 65535 });
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (['true', '1', 'yes'].includes(v.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(v.toLowerCase())) return false;
    throw new ConfigError(key, `must be true or false, got "${v}"`);
  }

  url(key: string, fallback?: string, protocols: string[] = ['http:', 'https:']): string {
    const v = this.raw(key) ?? fallback;
    if (v === undefined) throw new ConfigError(key, 'is required');
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(key, `must be a URL, got "${redactUrl(v)}"`);
    }
    if (!protocols.includes(u.protocol)) {
      throw new ConfigError(key, `must use ${protocols.join(' or ')}, got "${u.protocol}"`);
    }
    return v;
  }

  list(key: string, fallback: string[]): string[] {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(key) ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(key, `must be one of ${allowed.join(', ')}, got "${v}"`);
    }
    return v as T;
  }
}

/** Removes the userinfo of every URL in a text, so a password never reaches a message or log. */
export function redactUrl(value: string): string {
  // Every URL in the text (an error may quote several), userinfo never spanning whitespace.
  return value.replace(/\/\/[^/@\s]*@/g, '//***@');
}
