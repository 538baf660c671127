// Public surface of @portcullis/masking.
export { DETECTORS, DETECTION_ORDER, type DetectorName } from './detectors';
export { MASK_STRATEGIES, type MaskStrategy } from './mask-strategy';
export {
  MAX_FIELD_PATH_LENGTH,
  parseFieldPath,
  type FieldPath,
  type PathSegment,
  type PathSelector,
} from './field-path';
export { MAX_MASK_FIELDS, parseMaskObligation } from './mask-obligation';
export {
  Masker,
  MIN_HASH_KEY_BYTES,
  REDACTED_FIELD,
  type MaskReport,
  type MaskSpec,
} from './masker';
export { MASKING_ERROR_CODES, MaskingError, type MaskingErrorCode } from './masking.error';
export {
  LOG_MASK_ROOTS,
  MAX_LOG_MASK_RULES,
  applyLogMask,
  parseLogMaskRules,
  type LogMaskRule,
} from './log-mask';
