import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the header carrying {@link ApprovalWebhookSignature.header}. */
export const SIGNATURE_HEADER = 'Portcullis-Signature';
/** Name of the header carrying the delivery's stable id (the same on every retry). */
export const EVENT_ID_HEADER = 'Portcullis-Event-Id';

/**
 * The webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The timestamp is signed with the body so a receiver can refuse replays outside its tolerance;
 * `verify` is what a receiver does, and what the tests check deliveries with.
 */
export class ApprovalWebhookSignature {
  static header(secret: string, body: string, unixSeconds: number): string {
    return `t=${unixSeconds},v1=${ApprovalWebhookSignature.mac(secret, unixSeconds, body)}`;
  }

  /** True when `header` signs `body` with `secret` and its time is within `toleranceS` of `nowS`. */
  static verify(
    secret: string,
    body: string,
    header: string,
    nowS: number,
    toleranceS = 300,
  ): boolean {
    const parts = new Map<string, string>();
    for (const item of header.split(',')) {
      const eq = item.indexOf('=');
      if (eq > 0) parts.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
    }
    const t = parts.get('t');
    const v1 = parts.get('v1');
    if (t === undefined || v1 === undefined || !/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/.test(v1))
      return false;
    if (Math.abs(nowS - Number(t)) > toleranceS) return false;
    const expected = Buffer.from(ApprovalWebhookSignature.mac(secret, Number(t), body), 'hex');
    return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
  }

  private static mac(secret: string, unixSeconds: number, body: string): string {
    return createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  }
}
