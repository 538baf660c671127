import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTORS, type DetectorName } from './detectors';
import { Masker } from './masker';

const masker = new Masker(Buffer.alloc(32, 1));

/** The text with every hit of the given detectors redacted. */
function redact(text: string, ...detectors: DetectorName[]): string {
  return masker.maskText(text, { fields: [], detectors, strategy: 'redact' }).text;
}

function assertUntouched(detector: DetectorName, texts: string[]): void {
  for (const t of texts)
    assert.equal(redact(t, detector), t, `${detector} must not match ${JSON.stringify(t)}`);
}

describe('credit_card detector', () => {
  it('Luhn-valid card numbers of 13 to 19 digits match, plain or grouped', () => {
    const cards = [
      '4111111111111111',
      '4111 1111 1111 1111',
      '4111-1111-1111-1111',
      '378282246310005', // Amex, 15
      '3782 822463 10005', // Amex grouping 4-6-5
      '4222222222222', // 13
      '6011000990139424',
      '4000056655665556',
      '6250941006528599', // 16
      '4111111111111111110', // 19, Luhn-valid
    ];
    for (const c of cards)
      assert.equal(redact(`card: ${c}.`, 'credit_card'), 'card: [REDACTED:credit_card].', c);
  });

  it('a number failing the Luhn check is not a card', () => {
    assertUntouched('credit_card', ['4111111111111112', '4111 1111 1111 1112']);
  });

  it('12 and 20 digits are not cards even when Luhn-valid', () => {
    // 4111111111111111 padded: '411111111113' (12, Luhn-valid) and a 20-digit Luhn-valid run.
    assertUntouched('credit_card', [
      '411111111113',
      '41111111111111111113',
      'id 41111111111111111113 x',
    ]);
  });

  it('a card number inside a longer digit run or a word is not a card', () => {
    assertUntouched('credit_card', [
      '9994111111111111111999',
      'x4111111111111111',
      '4111111111111111x',
      'order-id:ab4111111111111111',
      '12.4111111111111111',
      '4111111111111111.5',
    ]);
  });

  it('doubled separators break a grouped number apart', () => {
    assertUntouched('credit_card', ['4111  1111  1111  1111', '4111--1111--1111--1111']);
  });

  it('a grouped card followed by another number group is still found', () => {
    assert.equal(redact('4111 1111 1111 1111 2024', 'credit_card'), '[REDACTED:credit_card] 2024');
    assert.equal(
      redact('qty 12 4111 1111 1111 1111', 'credit_card'),
      'qty 12 [REDACTED:credit_card]',
    );
  });

  it('several cards in one text are each found', () => {
    assert.equal(
      redact('a 4111111111111111, b 5500-0000-0000-0004', 'credit_card'),
      'a [REDACTED:credit_card], b [REDACTED:credit_card]',
    );
  });
});

describe('email detector', () => {
  it('addresses inside text match without the surrounding punctuation', () => {
    assert.equal(
      redact('Contact <jane.doe+tag@mail.example.co.uk>, or John_S@Example.com.', 'email'),
      'Contact <[REDACTED:email]>, or [REDACTED:email].',
    );
  });

  it('strings that only resemble addresses are left alone', () => {
    assertUntouched('email', [
      'user@localhost',
      '@example.com',
      'a@b.c',
      'a..b@example.com',
      'a.@example.com',
      'x@-example.com',
      'price @ 5.00',
      'x@example.c0m',
    ]);
  });

  it('a local part longer than 64 characters is not an address', () => {
    assertUntouched('email', [`${'a'.repeat(65)}@example.com`]);
  });
});

describe('ssn detector', () => {
  it('dashed and spaced SSNs match', () => {
    assert.equal(redact('ssn 123-45-6789;', 'ssn'), 'ssn [REDACTED:ssn];');
    assert.equal(redact('ssn 123 45 6789', 'ssn'), 'ssn [REDACTED:ssn]');
  });

  it('never-issued areas, groups and serials are not SSNs', () => {
    assertUntouched('ssn', [
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '999-12-3456',
      '123-00-4567',
      '123-45-0000',
    ]);
  });

  it('bare nine-digit runs, mixed separators and longer chains are not SSNs', () => {
    assertUntouched('ssn', [
      '123456789',
      '123-45 6789',
      '123-45-67890',
      '1-123-45-6789',
      '123-45-6789-1',
      'a123-45-6789',
    ]);
  });
});

describe('iban detector', () => {
  it('valid IBANs match, compact and in groups of four', () => {
    for (const iban of [
      'DE89370400440532013000',
      'DE89 3704 0044 0532 0130 00',
      'GB82 WEST 1234 5698 7654 32',
      'NL91ABNA0417164300',
      'FR1420041010050500013M02606',
    ]) {
      assert.equal(redact(`pay to ${iban}.`, 'iban'), 'pay to [REDACTED:iban].', iban);
    }
  });

  it('an IBAN with a wrong check digit is not an IBAN', () => {
    assertUntouched('iban', [
      'DE88370400440532013000',
      'DE89 3704 0044 0532 0130 01',
      'GB82WEST12345698765433',
    ]);
  });

  it('a spaced IBAN followed by a four-letter word is still found', () => {
    assert.equal(redact('GB82 WEST 1234 5698 7654 32 SENT', 'iban'), '[REDACTED:iban] SENT');
    assert.equal(redact('NL91 ABNA 0417 1643 00 DONE', 'iban'), '[REDACTED:iban] DONE');
  });

  it('IBAN-shaped text glued to a word is not an IBAN', () => {
    assertUntouched('iban', ['xDE89370400440532013000', 'DE89370400440532013000x']);
  });
});

describe('phone detector', () => {
  it('E.164 and North-American forms match', () => {
    for (const phone of [
      '+14155552671',
      '+44 20 7946 0958',
      '+1 (555) 123-4567',
      '+49-151-1234-5678',
      '(555) 123-4567',
      '(555)123-4567',
      '555-123-4567',
      '555.123.4567',
      '1-555-123-4567',
    ]) {
      assert.equal(redact(`call ${phone} now`, 'phone'), 'call [REDACTED:phone] now', phone);
    }
  });

  it('too few or too many digits, and numbers glued to more digits, are not phones', () => {
    assertUntouched('phone', [
      '+1234567',
      '+1234567890123456',
      '555-1234',
      '5551234567',
      '555-123-45678',
      '9.555.123.4567',
      'v555-123-4567',
    ]);
  });

  it('digits taken by a card, SSN or IBAN are not matched again as a phone', () => {
    const all = [...DETECTORS];
    assert.equal(
      redact('card +4111111111111111 ssn 123-45-6789 iban DE89370400440532013000', ...all),
      'card +[REDACTED:credit_card] ssn [REDACTED:ssn] iban [REDACTED:iban]',
    );
    // Alone, "+1 4222222222222" is an E.164 number; the card claims its digits first.
    assert.equal(redact('+1 4222222222222', 'phone'), '[REDACTED:phone]');
    assert.equal(redact('+1 4222222222222', ...all), '+1 [REDACTED:credit_card]');
  });
});

describe('secret detector', () => {
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

  it('well-known credential shapes match', () => {
    const secrets = [
      jwt,
      'AKIAIOSFODNN7EXAMPLE',
      `ghp_${'A1b2'.repeat(9)}`,
      `gho_${'z'.repeat(36)}`,
      `ghs_${'9'.repeat(36)}`,
      'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
      'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
      'rk_live_0123456789abcdef',
      'xoxb-123456789012-abcdefghijkl',
      'xoxp-1234567890-abc',
      `AIza${'S'.repeat(35)}`,
    ];
    for (const s of secrets)
      assert.equal(redact(`key=${s} ok`, 'secret'), 'key=[REDACTED:secret] ok', s);
  });

  it('a PEM private key block is masked whole, and without END up to the end of the text', () => {
    const pem =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----';
    assert.equal(redact(`key:\n${pem}\nnext`, 'secret'), 'key:\n[REDACTED:secret]\nnext');
    assert.equal(redact('x -----BEGIN PRIVATE KEY-----\nMIIE', 'secret'), 'x [REDACTED:secret]');
  });

  it('a certificate or public key block is not a secret', () => {
    assertUntouched('secret', [
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
    ]);
  });

  it('a bearer token is masked and the scheme kept', () => {
    assert.equal(
      redact('Authorization: Bearer abcdefghij0123456789.-_~+/=', 'secret'),
      'Authorization: Bearer [REDACTED:secret]',
    );
    assert.equal(redact(`bearer ${jwt}`, 'secret'), 'bearer [REDACTED:secret]');
  });

  it('near-miss shapes are not secrets', () => {
    assertUntouched('secret', [
      'Bearer short-token',
      'AKIA1234', // too short
      'AKIAIOSFODNN7EXAMPLEX', // too long
      `xghp_${'a'.repeat(36)}`, // not at a token start
      `ghp_${'a'.repeat(35)}`,
      'sk_live_short',
      'eyJhbGciOi.only-two-segments',
      'xoxz-1234567890-abc',
      `AIza${'S'.repeat(34)}`,
    ]);
  });
});

describe('adversarial input', () => {
  // Each would take minutes with a backtracking regex; the test only has to finish.
  const inputs: Record<string, string> = {
    '1 MB of digits': '7'.repeat(1_000_000),
    "'a' x 1e6 then @": `${'a'.repeat(1_000_000)}@`,
    '@ x 1e6': '@'.repeat(1_000_000),
    'a@ x 5e5': 'a@'.repeat(500_000),
    'domain of 5e5 labels': `a@${'b.'.repeat(500_000)}`,
    'digits and single spaces': '1 '.repeat(500_000),
    'digit groups and dashes': '123-'.repeat(250_000),
    'plus signs and digits': '+1 '.repeat(300_000),
    'dots between digits': '5.'.repeat(500_000),
    parentheses: '(555) '.repeat(200_000),
    'eyJ repeated': 'eyJ'.repeat(300_000),
    'unterminated JWT segments': 'eyJaaaaaaaaaaa.'.repeat(100_000),
    'PEM headers without END': '-----BEGIN RSA PRIVATE KEY-----'.repeat(30_000),
    'Bearer repeated': 'Bearer '.repeat(100_000),
    'IBAN-like groups': 'DE89 '.repeat(200_000),
    'long run of dashes': '-'.repeat(1_000_000),
    'long run of spaces': ' '.repeat(1_000_000),
  };
  for (const [name, text] of Object.entries(inputs)) {
    it(`every detector completes on ${name}`, () => {
      const out = masker.maskText(text, {
        fields: [],
        detectors: [...DETECTORS],
        strategy: 'redact',
      });
      assert.equal(typeof out.text, 'string');
    });
  }
});
