export {
  loadPolicy,
  DECISION_ENTRYPOINT,
  LOG_MASK_ENTRYPOINT,
  DEFAULT_MAX_DATA_BYTES,
  type LoadedPolicy,
  type LoadPolicyOptions,
  type EvaluateOptions,
} from './policy.loader';
export {
  PolicyEvaluationError,
  POLICY_ERROR_CODES,
  type PolicyErrorCode,
} from './policy-evaluation.error';
export { PROVIDED_BUILTINS, SDK_BUILTINS } from './host.builtins';
export { CAPABILITIES_FILE } from './capabilities';
export { TarReader, readBundleFile } from './bundle-archive.reader';
