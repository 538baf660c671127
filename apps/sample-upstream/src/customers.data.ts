/**
 * A customer record as the sample upstream serves it. The data is fake but shaped like the real
 * thing a gateway protects: names, e-mail addresses, phone numbers, US social security numbers,
 * IBANs and card numbers. Card numbers are well-known Luhn-valid test numbers from the card
 * networks' documentation, IBANs are the published example IBANs of their countries, phone
 * numbers come from ranges reserved for fiction (US 555-01xx, UK 020 7946 0xxx), and SSNs are
 * well-formed but made up. Masking and deny rules written against it therefore look like the
 * ones a security engineer writes for production, and tests can scan responses for the raw values.
 */
export interface Customer {
  id: string;
  name: string;
  email: string;
  phone: string;
  ssn: string;
  iban: string;
  card_number: string;
  country: string;
  created_at: string;
}

export const SEED_CUSTOMERS: readonly Customer[] = Object.freeze([
  {
    id: '1',
    name: 'Ada Lovelace',
    email: 'ada.lovelace@example.com',
    phone: '+44 20 7946 0958',
    ssn: '219-09-9999',
    iban: 'GB82 WEST 1234 5698 7654 32',
    card_number: '4616 5172 8623 3573',
    country: 'GB',
    created_at: '2024-01-15T09:30:00Z',
  },
  {
    id: '2',
    name: 'Grace Hopper',
    email: 'grace.hopper@example.org',
    phone: '+1 415 555 0132',
    ssn: '078-05-1120',
    iban: 'DE89370400440532013000',
    card_number: '5031862659693902',
    country: 'US',
    created_at: '2024-02-03T14:05:00Z',
  },
  {
    id: '3',
    name: 'Alan Turing',
    email: 'alan.turing@example.net',
    phone: '+44 20 7946 0321',
    ssn: '457-55-5462',
    iban: 'FR14 2004 1010 0505 0001 3M02 606',
    card_number: '3789-632247-29916',
    country: 'GB',
    created_at: '2024-02-20T11:45:00Z',
  },
  {
    id: '4',
    name: 'Katherine Johnson',
    email: 'k.johnson@example.com',
    phone: '(202) 555-0147',
    ssn: '536-22-1234',
    iban: 'NL91ABNA0417164300',
    card_number: '6011-7853-7787-6057',
    country: 'US',
    created_at: '2024-03-08T08:00:00Z',
  },
  {
    id: '5',
    name: 'Edsger Dijkstra',
    email: 'e.w.dijkstra@example.nl',
    phone: '+1-312-555-0198',
    ssn: '123-45-6789',
    iban: 'NL91 ABNA 0417 1643 00',
    card_number: '4619 8833 5029 5188',
    country: 'NL',
    created_at: '2024-03-30T16:20:00Z',
  },
  {
    id: '6',
    name: 'Margaret Hamilton',
    email: 'margaret.hamilton@example.com',
    phone: '617-555-0110',
    ssn: '321-54-9876',
    iban: 'CH9300762011623852957',
    card_number: '5768694582719556',
    country: 'US',
    created_at: '2024-04-12T10:10:00Z',
  },
  {
    id: '7',
    name: 'Barbara Liskov',
    email: 'b.liskov@example.edu',
    phone: '+1 617 555 0175',
    ssn: '401-12-3456',
    iban: 'ES91 2100 0418 4502 0005 1332',
    card_number: '4503-7039-5038-4290',
    country: 'US',
    created_at: '2024-05-01T13:00:00Z',
  },
  {
    id: '8',
    name: 'Donald Knuth',
    email: 'knuth@example.edu',
    phone: '(650) 555-0123',
    ssn: '512-34-5678',
    iban: 'BE68539007547034',
    card_number: '3509 2423 8038 0798',
    country: 'US',
    created_at: '2024-05-22T07:35:00Z',
  },
  {
    id: '9',
    name: 'Frances Allen',
    email: 'fran.allen@example.com',
    phone: '+1 914 555 0166',
    ssn: '234-56-7890',
    iban: 'AT61 1904 3002 3457 3201',
    card_number: '348751102919502',
    country: 'US',
    created_at: '2024-06-18T15:50:00Z',
  },
  {
    id: '10',
    name: 'Tim Berners-Lee',
    email: 'timbl@example.ch',
    phone: '+44 20 7946 0744',
    ssn: '345-67-8901',
    iban: 'CH93 0076 2011 6238 5295 7',
    card_number: '6011 2071 8728 3341',
    country: 'CH',
    created_at: '2024-07-04T12:00:00Z',
  },
]);

/** Raw card numbers of the seed customers, as served (plain, spaced and dashed). */
export const SAMPLE_CARD_NUMBERS: readonly string[] = Object.freeze(
  SEED_CUSTOMERS.map((c) => c.card_number),
);
/** Raw e-mail addresses of the seed customers. */
export const SAMPLE_EMAILS: readonly string[] = Object.freeze(SEED_CUSTOMERS.map((c) => c.email));
/** Raw US SSNs of the seed customers (AAA-GG-SSSS). */
export const SAMPLE_SSNS: readonly string[] = Object.freeze(SEED_CUSTOMERS.map((c) => c.ssn));
/** Raw IBANs of the seed customers, electronic and print (grouped) formats. */
export const SAMPLE_IBANS: readonly string[] = Object.freeze(SEED_CUSTOMERS.map((c) => c.iban));
/** Raw phone numbers of the seed customers (E.164 with separators, and North-American forms). */
export const SAMPLE_PHONES: readonly string[] = Object.freeze(SEED_CUSTOMERS.map((c) => c.phone));

/**
 * The free-text note `GET /customers/{id}/notes` serves: the customer's personal data written
 * into sentences, the way support tickets and CRM notes carry it.
 */
export function customerNote(c: Customer): string {
  return [
    `Customer ${c.id}: ${c.name} (${c.country}), on file since ${c.created_at.slice(0, 10)}.`,
    `Reach them at ${c.email} or ${c.phone}.`,
    `Pays with card ${c.card_number}; refunds go to IBAN ${c.iban}.`,
    `Identity checked against SSN ${c.ssn}.`,
    '',
  ].join('\n');
}

const FIRST_NAMES = ['Alex', 'Sam', 'Robin', 'Kim', 'Jordan', 'Taylor', 'Morgan', 'Casey'];
const LAST_NAMES = ['Smith', 'Garcia', 'Müller', 'Rossi', 'Dubois', 'Jansen', 'Novak', 'Silva'];
const CARD_FORMATS = [
  (d: string) => d,
  (d: string) => d.replace(/(\d{4})(?=\d)/g, '$1 '),
  (d: string) => d.replace(/(\d{4})(?=\d)/g, '$1-'),
] as const;

/**
 * The `index`-th generated customer (index 0 and up) for `/customers/export` and `/large`:
 * deterministic, so a test can rebuild any row, with a Luhn-valid 16-digit card number (plain,
 * spaced or dashed by turn), a well-formed SSN, a valid German IBAN and a 555-01xx phone number.
 */
export function generatedCustomer(index: number): Customer {
  const n = String(index).padStart(8, '0');
  const card = withLuhnDigit(`4000000${n}`);
  let area = 100 + (index % 565);
  if (area === 666) area = 667;
  const group = 1 + (index % 99);
  const serial = 1 + (index % 9999);
  return {
    id: `g${index}`,
    name: `${FIRST_NAMES[index % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(index / 8) % LAST_NAMES.length]}`,
    email: `customer${index}@example.com`,
    phone: `+1 415 555 01${String(index % 100).padStart(2, '0')}`,
    ssn: `${area}-${String(group).padStart(2, '0')}-${String(serial).padStart(4, '0')}`,
    iban: germanIban('37040044', String(index).padStart(10, '0')),
    card_number: CARD_FORMATS[index % CARD_FORMATS.length](card),
    country: 'DE',
    created_at: new Date(Date.UTC(2024, 0, 1) + index * 60_000).toISOString(),
  };
}

/** Luhn checksum over the digits of a card number (spaces and dashes ignored). */
export function luhnValid(cardNumber: string): boolean {
  const digits = cardNumber.replace(/[ -]/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  return luhnSum(digits, false) % 10 === 0;
}

/** ISO 13616 check (mod 97 == 1) over an IBAN, spaces ignored. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  return mod97(compact.slice(4) + compact.slice(0, 4)) === 1;
}

function luhnSum(digits: string, doubleFirst: boolean): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === (doubleFirst ? 0 : 1)) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum;
}

function withLuhnDigit(payload: string): string {
  // The check digit is appended on the right, so the payload's last digit is doubled.
  return payload + String((10 - (luhnSum(payload, true) % 10)) % 10);
}

function germanIban(bankCode: string, account: string): string {
  const bban = bankCode + account;
  const check = 98 - mod97(`${bban}DE00`);
  return `DE${String(check).padStart(2, '0')}${bban}`;
}

/** Remainder mod 97 of the number spelled by `text`, letters counting A=10 … Z=35. */
function mod97(text: string): number {
  let rest = 0;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + Number(digit)) % 97;
  }
  return rest;
}
