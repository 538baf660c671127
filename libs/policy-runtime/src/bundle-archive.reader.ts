import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

/**
 * Reads regular files out of a gzipped (ustar/PAX) tar archive, enough for the bundles `opa build`
 * writes. Entry names are normalized to start with `/` as OPA lists them (`/policy.wasm`).
 * `maxBytes` caps the unzipped size, so a surprising archive cannot exhaust memory.
 */
export class TarReader {
  static readGzip(archive: Uint8Array, maxBytes: number): Map<string, Buffer> {
    let tar: Buffer;
    try {
      tar = gunzipSync(archive, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new Error(
        `bundle archive is not valid gzip or exceeds ${maxBytes} bytes: ${(err as Error).message}`,
      );
    }
    return TarReader.read(tar);
  }

  static read(tar: Buffer): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    let offset = 0;
    let paxPath: string | undefined;
    while (offset + BLOCK <= tar.length) {
      const header = tar.subarray(offset, offset + BLOCK);
      if (header.every((b) => b === 0)) break;
      if (!TarReader.checksumOk(header))
        throw new Error(`tar header checksum mismatch at offset ${offset}`);
      const size = TarReader.octal(header.subarray(124, 136));
      const type = String.fromCharCode(header[156] || 0x30);
      const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
      if (body.length !== size) throw new Error('tar entry truncated');
      offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'x') {
        paxPath = TarReader.paxRecords(body).get('path') ?? paxPath;
        continue;
      }
      if (type === 'g') continue;
      const name = paxPath ?? TarReader.ustarName(header);
      paxPath = undefined;
      if (type === '0' || type === '\0' || type === '7') {
        files.set(name.startsWith('/') ? name : `/${name}`, Buffer.from(body));
      }
    }
    return files;
  }

  private static ustarName(header: Buffer): string {
    const name = TarReader.cString(header.subarray(0, 100));
    const magic = header.subarray(257, 262).toString('latin1');
    const prefix = magic === 'ustar' ? TarReader.cString(header.subarray(345, 500)) : '';
    return prefix ? `${prefix}/${name}` : name;
  }

  private static cString(buf: Buffer): string {
    const end = buf.indexOf(0);
    return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
  }

  private static octal(buf: Buffer): number {
    const text = TarReader.cString(buf).trim();
    if (text === '') return 0;
    if (!/^[0-7]+$/.test(text)) throw new Error(`tar size field is not octal: "${text}"`);
    return parseInt(text, 8);
  }

  private static checksumOk(header: Buffer): boolean {
    const expected = TarReader.octal(header.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    return sum === expected;
  }

  /** PAX extended header records: `<len> <key>=<value>\n`. */
  private static paxRecords(body: Buffer): Map<string, string> {
    const out = new Map<string, string>();
    let i = 0;
    while (i < body.length) {
      const space = body.indexOf(0x20, i);
      if (space === -1) break;
      const len = Number(body.subarray(i, space).toString('latin1'));
      if (!Number.isInteger(len) || len <= 0) break;
      const record = body.subarray(space + 1, i + len - 1).toString('utf8');
      const eq = record.indexOf('=');
      if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
      i += len;
    }
    return out;
  }
}

/** Largest unzipped bundle read by {@link readBundleFile}. */
const DEFAULT_MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

/**
 * Reads one file out of an OPA bundle (`bundle.tar.gz` as written by `opa build`), e.g.
 * `/policy.wasm`. Returns undefined when the archive has no such file; throws on a corrupt one.
 */
export function readBundleFile(
  tarGz: Uint8Array,
  path: string,
  maxBytes = DEFAULT_MAX_BUNDLE_BYTES,
): Uint8Array | undefined {
  const file = TarReader.readGzip(tarGz, maxBytes).get(path.startsWith('/') ? path : `/${path}`);
  return file ? new Uint8Array(file) : undefined;
}
