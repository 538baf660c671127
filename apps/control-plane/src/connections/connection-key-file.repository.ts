import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Logger } from '@portcullis/platform';
import { parseConnectionKeys, type ConnectionEncryptionKey } from '../config/control-plane.config';

const KEY = 'CONNECTION_KEY_FILE';

/**
 * The key file used when CONNECTION_ENCRYPTION_KEYS is unset (the embedded `npm start` default):
 * read if present, otherwise generated with one random key, owner-only (0600). Same format as the
 * variable, one `kid:base64` per line, first line encrypts, so an operator rotates by adding a line
 * on top. Only this class touches the file.
 */
export class ConnectionKeyFileRepository {
  constructor(private readonly logger: Logger) {}

  loadOrCreate(path: string): ConnectionEncryptionKey[] {
    let text = this.read(path);
    if (text === null) {
      text = this.create(path);
      this.logger.warn(
        'generated a key file for connection credentials; set CONNECTION_ENCRYPTION_KEYS (or back this file up) outside development',
        { key_file: path },
      );
    } else {
      this.logger.warn(
        'connection credentials are encrypted with the key file; set CONNECTION_ENCRYPTION_KEYS outside development',
        { key_file: path },
      );
    }
    const keys = parseConnectionKeys(text, KEY);
    if (keys === null) throw new ConfigError(KEY, `holds no key: ${path}`);
    return keys;
  }

  private read(path: string): string | null {
    try {
      const mode = statSync(path).mode;
      // Like ssh with a private key: a key others can read is refused, not used.
      if (process.platform !== 'win32' && (mode & 0o077) !== 0)
        throw new ConfigError(KEY, `must be readable by its owner only (chmod 600): ${path}`);
      return readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      if ((err as { code?: string }).code === 'ENOENT') return null;
      throw new ConfigError(
        KEY,
        `cannot be read (${(err as { code?: string }).code ?? 'error'}): ${path}`,
      );
    }
  }

  private create(path: string): string {
    const kid = `gen-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
    const text = `${kid}:${randomBytes(32).toString('base64')}\n`;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // 'wx': two processes booting at once must not each write a different key.
      writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
      return text;
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') {
        const existing = this.read(path);
        if (existing !== null) return existing;
      }
      throw new ConfigError(
        KEY,
        `cannot be created (${(err as { code?: string }).code ?? 'error'}): ${path}`,
      );
    }
  }
}
