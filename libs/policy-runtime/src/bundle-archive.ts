import { gunzipSync } from 'node:zlib';

const BLOCK = 512;

/**
 * Reads one file out of an OPA bundle (`bundle.tar.gz` as written by `opa build`), e.g.
 * `/policy.wasm`. Returns undefined when the archive has no such file. Supports the ustar and
 * GNU/PAX forms OPA writes (plain files, long names via PAX `path` records). Throws on a corrupt
 * archive. Leading "/" and "./" are ignored when matching names.
 */
export function readBundleFile(tarGz: Uint8Array, path: string): Uint8Array | undefined {
  const tar = gunzipSync(tarGz);
  const wanted = normalize(path);
  let offset = 0;
  let paxPath: string | undefined;
  let gnuLongName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return undefined; // end-of-archive marker
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = cString(header.subarray(345, 500));
    const baseName = cString(header.subarray(0, 100));
    const bodyStart = offset + BLOCK;
    const body = tar.subarray(bodyStart, bodyStart + size);
    if (body.length !== size) throw new Error('bundle archive is truncated');
    offset = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      paxPath = paxRecord(body, 'path') ?? paxPath;
      continue;
    }
    if (type === 'L') {
      gnuLongName = cString(body);
      continue;
    }
    const name = paxPath ?? gnuLongName ?? (prefix ? `${prefix}/${baseName}` : baseName);
    paxPath = undefined;
    gnuLongName = undefined;
    if ((type === '0' || type === '\0') && normalize(name) === wanted) return new Uint8Array(body);
  }
  return undefined;
}

function normalize(p: string): string {
  return p.replace(/^(\.\/|\/)+/, '');
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end === -1 ? b : b.subarray(0, end));
}

function parseOctal(b: Uint8Array): number {
  const text = cString(b).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error('bundle archive has a corrupt header');
  return text === '' ? 0 : parseInt(text, 8);
}

function paxRecord(body: Uint8Array, key: string): string | undefined {
  const text = new TextDecoder().decode(body);
  for (const line of text.split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/.exec(line);
    if (m && m[1] === key) return m[2];
  }
  return undefined;
}
