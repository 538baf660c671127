import { ConfigError, EnvReader } from '@portcullis/platform';

/**
 * The credential the sample upstream demands, as an enforcer connection would inject it. Every
 * configured part must match exactly; with none configured the upstream accepts anonymous calls.
 */
export interface ExpectedCredential {
  /** `authorization: Bearer <bearer>` (scheme case-insensitive, token exact). */
  bearer?: string;
  /** `authorization: Basic base64(<user>:<password>)`. */
  basic?: { user: string; password: string };
  /** A header (name case-insensitive) with exactly this value, e.g. an API key. */
  header?: { name: string; value: string };
}

/** The sample upstream's settings, read from the environment by {@link loadSampleUpstreamConfig}. */
export interface SampleUpstreamConfig {
  port: number;
  host: string;
  expect: ExpectedCredential;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Reads SAMPLE_UPSTREAM_PORT, _HOST and the optional SAMPLE_UPSTREAM_EXPECT_BEARER,
 * _EXPECT_BASIC (`user:password`) and _EXPECT_HEADER (`name:value`); throws {@link ConfigError}
 * naming the bad key.
 */
export function loadSampleUpstreamConfig(
  env: Record<string, string | undefined> = process.env,
): SampleUpstreamConfig {
  const r = new EnvReader(env);
  const expect: ExpectedCredential = {};
  const bearer = r.optionalString('SAMPLE_UPSTREAM_EXPECT_BEARER');
  const basic = r.optionalString('SAMPLE_UPSTREAM_EXPECT_BASIC');
  const header = r.optionalString('SAMPLE_UPSTREAM_EXPECT_HEADER');
  if (bearer !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(bearer)) {
      throw new ConfigError('SAMPLE_UPSTREAM_EXPECT_BEARER', 'must be a token without spaces');
    }
    expect.bearer = bearer;
  }
  if (basic !== undefined) {
    if (bearer !== undefined) {
      throw new ConfigError(
        'SAMPLE_UPSTREAM_EXPECT_BASIC',
        'cannot be combined with SAMPLE_UPSTREAM_EXPECT_BEARER (both use the authorization header)',
      );
    }
    const colon = basic.indexOf(':');
    if (colon <= 0) throw new ConfigError('SAMPLE_UPSTREAM_EXPECT_BASIC', 'must be user:password');
    expect.basic = { user: basic.slice(0, colon), password: basic.slice(colon + 1) };
  }
  if (header !== undefined) {
    const colon = header.indexOf(':');
    const name = colon > 0 ? header.slice(0, colon).trim().toLowerCase() : '';
    const value = colon > 0 ? header.slice(colon + 1).trim() : '';
    if (!HEADER_NAME.test(name) || value === '') {
      throw new ConfigError('SAMPLE_UPSTREAM_EXPECT_HEADER', 'must be header-name:value');
    }
    if (name === 'authorization' && (bearer !== undefined || basic !== undefined)) {
      throw new ConfigError(
        'SAMPLE_UPSTREAM_EXPECT_HEADER',
        'cannot name authorization together with _EXPECT_BEARER or _EXPECT_BASIC',
      );
    }
    expect.header = { name, value };
  }
  return {
    port: r.port('SAMPLE_UPSTREAM_PORT', 8901),
    host: r.string('SAMPLE_UPSTREAM_HOST', '127.0.0.1'),
    expect,
  };
}
