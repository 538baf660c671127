import { Injectable } from '@nestjs/common';
import { errorMessage } from '@portcullis/platform';
import { EVENT_ID_HEADER, SIGNATURE_HEADER } from './approval-webhook.signature';

/** One delivery attempt's result; `error` is safe to store and log (no URL, no body). */
export type WebhookAttempt = { ok: true; status: number } | { ok: false; error: string };

/** Sends one signed webhook POST. Any 2xx is delivered; anything else is a failed attempt. */
@Injectable()
export class ApprovalWebhookRepository {
  async post(
    url: string,
    body: string,
    headers: { signature: string; eventId: string; event: string },
    timeoutMs: number,
  ): Promise<WebhookAttempt> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'portcullis-control-plane',
          [SIGNATURE_HEADER]: headers.signature,
          [EVENT_ID_HEADER]: headers.eventId,
          'Portcullis-Event': headers.event,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The receiver's answer is not ours to keep; read it only to free the connection.
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      // fetch errors name the cause (ECONNREFUSED, timeout), not the URL.
      const cause = (err as { cause?: unknown }).cause;
      return { ok: false, error: cause ? errorMessage(cause) : errorMessage(err) };
    }
  }
}
