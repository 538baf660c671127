import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { TarReader } from './bundle-archive.reader';

function header(name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function entry(name: string, body: Buffer, type = '0'): Buffer {
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header(name, body.length, type), body, pad]);
}

describe('tar reader', () => {
  it('reads regular files with OPA-style leading slashes', () => {
    const wasm = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const tar = Buffer.concat([
      entry('/policy.wasm', wasm),
      entry('data.json', Buffer.from('{}')),
      Buffer.alloc(1024),
    ]);
    const files = TarReader.readGzip(gzipSync(tar), 1 << 20);
    assert.deepEqual(files.get('/policy.wasm'), wasm);
    assert.equal(files.get('/data.json')?.toString(), '{}');
  });

  it('a PAX path record names the following entry', () => {
    const record = ' path=/very/long/name.json\n';
    const len = record.length + String(record.length + 2).length;
    const pax = Buffer.from(`${len}${record}`);
    const tar = Buffer.concat([
      entry('PaxHeader', pax, 'x'),
      entry('short', Buffer.from('x')),
      Buffer.alloc(1024),
    ]);
    assert.deepEqual([...TarReader.read(tar).keys()], ['/very/long/name.json']);
  });

  it('a corrupted header is an error, not garbage', () => {
    const tar = entry('/data.json', Buffer.from('{}'));
    tar[0] = 0x41;
    assert.throws(() => TarReader.read(tar), /checksum/);
  });

  it('an archive inflating beyond the cap is refused', () => {
    const tar = Buffer.concat([entry('/big', Buffer.alloc(100_000)), Buffer.alloc(1024)]);
    assert.throws(() => TarReader.readGzip(gzipSync(tar), 10_000), /exceeds/);
  });
});
