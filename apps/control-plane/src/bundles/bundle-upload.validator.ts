import { NAME_PATTERN, isObject, type JsonObject } from '@portcullis/contracts';
import { DEFAULT_MAX_DATA_BYTES } from '@portcullis/policy-runtime';
import { InvalidRequestError, PayloadTooLargeError } from '../errors/domain.error';

/** Caps on one uploaded version; far above a real policy tree, far below what hurts the compiler. */
export const BUNDLE_LIMITS = {
  maxModules: 200,
  maxModuleBytes: 512 * 1024,
  maxTotalModuleBytes: 4 * 1024 * 1024,
  // Below what an enforcer agrees to load (policy-runtime refuses bigger data at load time), so
  // data that would stall or fail every enforcer is refused here, at upload.
  maxDataBytes: Math.min(2 * 1024 * 1024, DEFAULT_MAX_DATA_BYTES),
  maxPathLength: 200,
  maxPathDepth: 8,
  /** Nesting of `data`; deeper JSON only serves to exhaust the stack of whatever walks it. */
  maxDataDepth: 64,
} as const;

/** The fields of an upload body; anything else is refused rather than silently ignored. */
const UPLOAD_FIELDS = new Set(['modules', 'data', 'activate']);

/** One path segment: no dot-only names, no hidden files, nothing a shell or a tar would treat specially. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A validated upload, ready for the compiler. */
export interface BundleUpload {
  name: string;
  modules: Record<string, string>;
  data: JsonObject;
  activate: boolean;
}

/**
 * Validates a bundle upload before anything touches the file system: the bundle name travels in
 * NATS keys, module paths become files under a temp dir, and sizes bound the compiler's work.
 * Throws InvalidRequestError (400) or PayloadTooLargeError (413) naming the offending field.
 */
export class BundleUploadValidator {
  static bundleName(name: string): string {
    if (!NAME_PATTERN.test(name)) {
      throw new InvalidRequestError(`bundle name must match ${String(NAME_PATTERN)}`);
    }
    return name;
  }

  static version(raw: string): number {
    if (!/^[1-9][0-9]{0,8}$/.test(raw))
      throw new InvalidRequestError('version must be a positive integer');
    return Number(raw);
  }

  static modulePath(path: string): string {
    if (path.length === 0 || path.length > BUNDLE_LIMITS.maxPathLength) {
      throw new InvalidRequestError(
        `module path must be 1..${BUNDLE_LIMITS.maxPathLength} characters`,
      );
    }
    if (!path.endsWith('.rego'))
      throw new InvalidRequestError(`module path "${path}" must end with .rego`);
    if (path.startsWith('/') || path.includes('\\')) {
      throw new InvalidRequestError(
        `module path "${path}" must be relative and use / as separator`,
      );
    }
    const segments = path.split('/');
    if (segments.length > BUNDLE_LIMITS.maxPathDepth) {
      throw new InvalidRequestError(
        `module path "${path}" is nested deeper than ${BUNDLE_LIMITS.maxPathDepth}`,
      );
    }
    for (const s of segments) {
      if (s === '..' || s === '.' || !SEGMENT.test(s)) {
        throw new InvalidRequestError(
          `module path "${path}" has an invalid segment "${s}" (letters, digits, _ . -; no . or .. segments)`,
        );
      }
    }
    return path;
  }

  static upload(name: string, body: unknown): BundleUpload {
    BundleUploadValidator.bundleName(name);
    // The body reaches us exactly as JSON.parse produced it: no class-transformer pass, which
    // recursed without bound (a deeply nested `data` was a stack overflow, a 500) and silently
    // dropped keys such as "constructor" from `data`, so the stored policy data differed from
    // what was uploaded.
    if (!isObject(body)) {
      throw new InvalidRequestError(
        'the request body must be a JSON object (Content-Type: application/json)',
      );
    }
    for (const key of Object.keys(body)) {
      if (!UPLOAD_FIELDS.has(key)) {
        throw new InvalidRequestError(
          `property ${safeKey(key)} should not exist (accepted: modules, data, activate)`,
        );
      }
    }
    const { modules } = body;
    if (!isObject(modules))
      throw new InvalidRequestError('modules must be an object of "<path>.rego": "<source>"');
    const entries = Object.entries(modules);
    if (entries.length === 0)
      throw new InvalidRequestError('modules must contain at least one .rego file');
    if (entries.length > BUNDLE_LIMITS.maxModules) {
      throw new PayloadTooLargeError(`at most ${BUNDLE_LIMITS.maxModules} modules per version`);
    }
    let total = 0;
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    const dirs = new Set<string>();
    for (const [path, source] of entries) {
      BundleUploadValidator.modulePath(path);
      // Two paths differing only in case would collide on case-insensitive file systems.
      const folded = path.toLowerCase();
      if (seen.has(folded))
        throw new InvalidRequestError(`module path "${path}" differs from another only in case`);
      seen.add(folded);
      const parts = folded.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      if (typeof source !== 'string')
        throw new InvalidRequestError(`modules["${path}"] must be a string`);
      if (source.includes('\0'))
        throw new InvalidRequestError(`modules["${path}"] contains a NUL character`);
      const bytes = Buffer.byteLength(source, 'utf8');
      if (bytes > BUNDLE_LIMITS.maxModuleBytes) {
        throw new PayloadTooLargeError(
          `modules["${path}"] is larger than ${BUNDLE_LIMITS.maxModuleBytes} bytes`,
        );
      }
      total += bytes;
      out[path] = source;
    }
    // A path that is also another path's directory cannot be written as a file tree.
    for (const path of Object.keys(out)) {
      if (dirs.has(path.toLowerCase()))
        throw new InvalidRequestError(
          `module path "${path}" is also used as a directory by another module`,
        );
    }
    if (total > BUNDLE_LIMITS.maxTotalModuleBytes) {
      throw new PayloadTooLargeError(
        `modules total more than ${BUNDLE_LIMITS.maxTotalModuleBytes} bytes`,
      );
    }
    let data: JsonObject = {};
    if (body.data !== undefined && body.data !== null) {
      if (!isObject(body.data)) throw new InvalidRequestError('data must be a JSON object');
      data = body.data;
      if (depthExceeds(data, BUNDLE_LIMITS.maxDataDepth)) {
        throw new InvalidRequestError(
          `data is nested deeper than ${BUNDLE_LIMITS.maxDataDepth} levels`,
        );
      }
      if (Buffer.byteLength(JSON.stringify(data), 'utf8') > BUNDLE_LIMITS.maxDataBytes) {
        throw new PayloadTooLargeError(`data is larger than ${BUNDLE_LIMITS.maxDataBytes} bytes`);
      }
    }
    if (body.activate !== undefined && typeof body.activate !== 'boolean') {
      throw new InvalidRequestError('activate must be a boolean');
    }
    return { name, modules: out, data, activate: body.activate === true };
  }
}

/** Iterative, so the check itself cannot overflow the stack it protects. */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}

// Unknown property names are echoed back; keep that echo short and printable.
function safeKey(key: string): string {
  const printable = JSON.stringify(key.replace(/[^\x20-\x7e]/g, '?'));
  return printable.length > 66 ? `${printable.slice(0, 65)}…"` : printable;
}
