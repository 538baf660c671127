import {
  calculateJwkThumbprint,
  exportJWK,
  flattenedDecrypt,
  generateKeyPair,
  type CryptoKey,
} from 'jose';
import {
  CONNECTION_JWE_ALG,
  CONNECTION_JWE_ENC,
  ENFORCER_KEY_SCHEMA,
  parseConnectionSecret,
  readSealBinding,
  sealBindingMismatch,
  sealBindingOfSecret,
  type ConnectionJwe,
  type ConnectionJweRecipient,
  type ConnectionSealBinding,
  type ConnectionSecret,
  type EnforcerKey,
  type EnforcerPublicJwk,
} from '@portcullis/contracts';

/**
 * This enforcer process's key-agreement key pair (P-256, for ECDH-ES+A256KW). The private key is a
 * non-extractable WebCrypto key: it is never serialized, logged or sent anywhere, and a restart
 * makes a new pair (the control plane re-seals to it once it is registered).
 */
export class EnforcerKeyPair {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: EnforcerPublicJwk,
    readonly kid: string,
  ) {}

  static async generate(): Promise<EnforcerKeyPair> {
    const { privateKey, publicKey } = await generateKeyPair(CONNECTION_JWE_ALG, {
      crv: 'P-256',
      extractable: false,
    });
    const jwk = await exportJWK(publicKey);
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y)
      throw new Error('generated key is not a P-256 EC key');
    const publicJwk: EnforcerPublicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
    return new EnforcerKeyPair(privateKey, publicJwk, await calculateJwkThumbprint(publicJwk));
  }

  /** The registration this enforcer writes to the enforcer keys bucket. */
  registration(enforcerId: string, serves: readonly string[]): EnforcerKey {
    return {
      schema: ENFORCER_KEY_SCHEMA,
      enforcer_id: enforcerId,
      kid: this.kid,
      alg: CONNECTION_JWE_ALG,
      public_jwk: { ...this.publicJwk },
      serves: [...serves],
      registered_at: new Date().toISOString(),
    };
  }

  /**
   * Opens the secret sealed for `recipient` (this key's entry in the JWE) and checks it was sealed
   * for `expected` (the clear fields of the record it came with): the connection name as the JWE's
   * additional authenticated data, the whole binding in its protected header, and again inside the
   * plaintext. Any difference throws an error naming the field, never a value.
   */
  async open(
    jwe: ConnectionJwe,
    recipient: ConnectionJweRecipient,
    expected: ConnectionSealBinding,
  ): Promise<ConnectionSecret> {
    const { plaintext, additionalAuthenticatedData, protectedHeader } = await flattenedDecrypt(
      {
        protected: jwe.protected,
        iv: jwe.iv,
        ciphertext: jwe.ciphertext,
        tag: jwe.tag,
        aad: jwe.aad,
        header: recipient.header,
        encrypted_key: recipient.encrypted_key,
      },
      this.privateKey,
      {
        keyManagementAlgorithms: [CONNECTION_JWE_ALG],
        contentEncryptionAlgorithms: [CONNECTION_JWE_ENC],
      },
    );
    if (
      additionalAuthenticatedData === undefined ||
      new TextDecoder().decode(additionalAuthenticatedData) !== expected.connection
    )
      throw new Error('sealed secret is bound to another connection');
    const bound = readSealBinding(protectedHeader);
    if (!bound)
      throw new Error('sealed secret carries no binding (sealed by an older control plane)');
    const boundTo = sealBindingMismatch(bound, expected);
    if (boundTo) throw new Error(`sealed secret is bound to another ${boundTo}`);
    const secret = parseConnectionSecret(JSON.parse(new TextDecoder().decode(plaintext)));
    const names = sealBindingMismatch(sealBindingOfSecret(secret), expected);
    if (names) throw new Error(`sealed secret names another ${names}`);
    return secret;
  }
}
