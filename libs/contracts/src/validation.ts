/** Thrown when a message crossing a boundary does not match its contract. */
export class ContractViolation extends Error {
  constructor(
    readonly contract: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${contract}: ${field} ${detail}`);
    this.name = 'ContractViolation';
  }
}

export type JsonObject = { [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Small field readers that throw {@link ContractViolation} naming the bad field. */
export class Reader {
  constructor(
    private readonly contract: string,
    private readonly value: JsonObject,
    private readonly prefix = '',
  ) {}

  static of(contract: string, value: unknown): Reader {
    if (!isObject(value)) throw new ContractViolation(contract, '(root)', 'must be an object');
    return new Reader(contract, value);
  }

  private fail(field: string, detail: string): never {
    throw new ContractViolation(this.contract, this.prefix + field, detail);
  }

  string(field: string, opts: { pattern?: RegExp; max?: number } = {}): string {
    const v = this.value[field];
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    if (opts.max !== undefined && v.length > opts.max)
      this.fail(field, `must be at most ${opts.max} characters`);
    if (opts.pattern && !opts.pattern.test(v))
      this.fail(field, `must match ${String(opts.pattern)}`);
    return v;
  }

  optionalString(field: string): string | null {
    const v = this.value[field];
    if (v === undefined || v === null) return null;
    return this.string(field);
  }

  integer(field: string, opts: { min?: number } = {}): number {
    const v = this.value[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(field, 'must be an integer');
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be >= ${opts.min}`);
    return v;
  }

  optionalInteger(field: string): number | null {
    const v = this.value[field];
    if (v === undefined || v === null) return null;
    return this.integer(field);
  }

  number(field: string): number {
    const v = this.value[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'must be a finite number');
    return v;
  }

  boolean(field: string): boolean {
    const v = this.value[field];
    if (typeof v !== 'boolean') this.fail(field, 'must be a boolean');
    return v;
  }

  timestamp(field: string): string {
    const v = this.string(field);
    if (Number.isNaN(Date.parse(v))) this.fail(field, 'must be an RFC 3339 timestamp');
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.string(field);
    if (!(allowed as readonly string[]).includes(v))
      this.fail(field, `must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  stringArray(field: string): string[] {
    const v = this.value[field];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      this.fail(field, 'must be an array of strings');
    return v;
  }

  object(field: string): Reader {
    const v = this.value[field];
    if (!isObject(v)) this.fail(field, 'must be an object');
    return new Reader(this.contract, v, `${this.prefix}${field}.`);
  }

  optionalObject(field: string): Reader | null {
    const v = this.value[field];
    if (v === undefined || v === null) return null;
    return this.object(field);
  }

  raw(field: string): unknown {
    return this.value[field];
  }
}
