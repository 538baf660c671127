import type { CallRecord, RecordObligation, RecordedBody } from '@portcullis/contracts';
import { MaskingError, type Masker, type MaskSpec } from '@portcullis/masking';
import type { CallFacts, CapturedBody } from './decision.types';
import { bodyKind, foreignCharset, hasNonUtf8Bytes } from './body-kind.rules';

/**
 * Turns what the adapter captured of a call into its audit record: bytes each way, what masking
 * replaced, and — only when the `record` obligation asks — the bodies, masked with the decision's
 * `mask` spec (unless the caller already received them masked) and capped at `maxBytes`.
 * A body that cannot be masked is recorded as withheld (empty data), never raw.
 */
export class CallRecorder {
  constructor(
    private readonly masker: Masker,
    private readonly maxBytes: number,
  ) {}

  record(facts: CallFacts, record: RecordObligation, mask: MaskSpec | null): CallRecord {
    return {
      bytes_in: facts.bytesIn,
      bytes_out: facts.bytesOut,
      upstream_status: facts.upstreamStatus,
      masked: facts.masked,
      request_body:
        record.request_body && facts.requestBody ? this.body(facts.requestBody, mask) : null,
      response_body:
        record.response_body && facts.responseBody ? this.body(facts.responseBody, mask) : null,
    };
  }

  private body(captured: CapturedBody, mask: MaskSpec | null): RecordedBody {
    const withheld: RecordedBody = {
      encoding: 'utf8',
      data: '',
      bytes: captured.bytes,
      truncated: true,
    };
    let data = captured.data;
    const text = bodyKind(captured.contentType) !== 'binary';
    if (mask !== null && !captured.masked) {
      // Detectors read UTF-8 only: anything else would be recorded as it came.
      if (!text || foreignCharset(captured.contentType) !== null || hasNonUtf8Bytes(data)) {
        return withheld;
      }
      try {
        data = this.maskBytes(data, captured, mask);
      } catch (err) {
        if (err instanceof MaskingError) return withheld;
        throw err;
      }
    }
    const truncated = !captured.complete || data.length > this.maxBytes;
    const kept = data.length > this.maxBytes ? data.subarray(0, this.maxBytes) : data;
    return text
      ? { encoding: 'utf8', data: kept.toString('utf8'), bytes: captured.bytes, truncated }
      : { encoding: 'base64', data: kept.toString('base64'), bytes: captured.bytes, truncated };
  }

  private maskBytes(data: Buffer, captured: CapturedBody, mask: MaskSpec): Buffer {
    const text = data.toString('utf8');
    if (captured.complete && bodyKind(captured.contentType) === 'json') {
      try {
        const parsed = JSON.parse(text) as unknown;
        return Buffer.from(JSON.stringify(this.masker.maskJson(parsed, mask).value));
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
    // Field paths cannot be located in text: scan it with every detector the spec names, and
    // when it names none, withhold the body rather than record what the paths were meant to hide.
    if (mask.fields.length > 0 && mask.detectors.length === 0) {
      throw new MaskingError(
        'not_json',
        'field paths cannot be applied to a body that is not JSON',
      );
    }
    return Buffer.from(this.masker.maskText(text, mask).text);
  }
}
