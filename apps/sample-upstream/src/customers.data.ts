/**
 * A customer record as the sample upstream serves it. The data is fake but shaped like the real
 * thing a gateway protects: personal names, e-mail addresses and card numbers (well-known,
 * Luhn-valid test numbers from card networks' documentation, never real cards), so that masking
 * and deny rules written against it look like the ones a security engineer writes for production.
 */
export interface Customer {
  id: string;
  name: string;
  email: string;
  card_number: string;
  country: string;
  created_at: string;
}

export const SEED_CUSTOMERS: readonly Customer[] = Object.freeze([
  {
    id: '1',
    name: 'Ada Lovelace',
    email: 'ada.lovelace@example.com',
    card_number: '4111 1111 1111 1111',
    country: 'GB',
    created_at: '2024-01-15T09:30:00Z',
  },
  {
    id: '2',
    name: 'Grace Hopper',
    email: 'grace.hopper@example.org',
    card_number: '5555 5555 5555 4444',
    country: 'US',
    created_at: '2024-02-03T14:05:00Z',
  },
  {
    id: '3',
    name: 'Alan Turing',
    email: 'alan.turing@example.net',
    card_number: '3782 822463 10005',
    country: 'GB',
    created_at: '2024-02-20T11:45:00Z',
  },
  {
    id: '4',
    name: 'Katherine Johnson',
    email: 'k.johnson@example.com',
    card_number: '6011 1111 1111 1117',
    country: 'US',
    created_at: '2024-03-08T08:00:00Z',
  },
  {
    id: '5',
    name: 'Edsger Dijkstra',
    email: 'e.w.dijkstra@example.nl',
    card_number: '4012 8888 8888 1881',
    country: 'NL',
    created_at: '2024-03-30T16:20:00Z',
  },
  {
    id: '6',
    name: 'Margaret Hamilton',
    email: 'margaret.hamilton@example.com',
    card_number: '5105 1051 0510 5100',
    country: 'US',
    created_at: '2024-04-12T10:10:00Z',
  },
  {
    id: '7',
    name: 'Barbara Liskov',
    email: 'b.liskov@example.edu',
    card_number: '4242 4242 4242 4242',
    country: 'US',
    created_at: '2024-05-01T13:00:00Z',
  },
  {
    id: '8',
    name: 'Donald Knuth',
    email: 'knuth@example.edu',
    card_number: '3530 1113 3330 0000',
    country: 'US',
    created_at: '2024-05-22T07:35:00Z',
  },
  {
    id: '9',
    name: 'Frances Allen',
    email: 'fran.allen@example.com',
    card_number: '3714 496353 98431',
    country: 'US',
    created_at: '2024-06-18T15:50:00Z',
  },
  {
    id: '10',
    name: 'Tim Berners-Lee',
    email: 'timbl@example.ch',
    card_number: '6011 0009 9013 9424',
    country: 'CH',
    created_at: '2024-07-04T12:00:00Z',
  },
]);

/** Luhn checksum over the digits of a card number (spaces ignored). */
export function luhnValid(cardNumber: string): boolean {
  const digits = cardNumber.replace(/ /g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
