import { NAME_PATTERN, isObject, type JsonObject } from '@portcullis/contracts';
import { InvalidRequestError, PayloadTooLargeError } from '../errors/domain.error';

/** Caps on one uploaded version; far above a real policy tree, far below what hurts the compiler. */
export const BUNDLE_LIMITS = {
  maxModules: 200,
  maxModuleBytes: 512 * 1024,
  maxTotalModuleBytes: 4 * 1024 * 1024,
  maxDataBytes: 2 * 1024 * 1024,
  maxPathLength: 200,
  maxPathDepth: 8,
} as const;

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

  static upload(
    name: string,
    body: { modules: unknown; data?: unknown; activate?: unknown },
  ): BundleUpload {
    BundleUploadValidator.bundleName(name);
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
    for (const [path, source] of entries) {
      BundleUploadValidator.modulePath(path);
      // Two paths differing only in case would collide on case-insensitive file systems.
      const folded = path.toLowerCase();
      if (seen.has(folded))
        throw new InvalidRequestError(`module path "${path}" differs from another only in case`);
      seen.add(folded);
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
    if (total > BUNDLE_LIMITS.maxTotalModuleBytes) {
      throw new PayloadTooLargeError(
        `modules total more than ${BUNDLE_LIMITS.maxTotalModuleBytes} bytes`,
      );
    }
    let data: JsonObject = {};
    if (body.data !== undefined && body.data !== null) {
      if (!isObject(body.data)) throw new InvalidRequestError('data must be a JSON object');
      data = body.data;
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
