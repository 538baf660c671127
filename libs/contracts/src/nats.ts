/**
 * NATS names shared by every Portcullis component. Change them only together with a
 * contract version bump: enforcers and control planes of different versions meet here.
 */
export const NATS_NAMES = {
  /** KV bucket: key `active.<bundle>` holds the {@link BundlePointer} of the active version. */
  bundlePointersBucket: 'PORTCULLIS_BUNDLES',
  /** Object store: `<bundle>/<version>/policy.wasm` and `<bundle>/<version>/data.json`. */
  bundleArtifactsStore: 'PORTCULLIS_BUNDLE_ARTIFACTS',
  /** KV bucket: key `<enforcer_id>` holds the {@link EnforcerStatus} the enforcer last reported. */
  enforcerStatusBucket: 'PORTCULLIS_ENFORCERS',
  /** JetStream stream of {@link DecisionEvent}s. */
  decisionStream: 'PORTCULLIS_DECISIONS',
  /** Subject prefix; enforcers publish on `portcullis.decisions.<enforcer_id>`. */
  decisionSubjectPrefix: 'portcullis.decisions',
  /** Durable pull consumer shared by every control-plane replica. */
  decisionConsumer: 'control-plane-decisions',
} as const;

/** KV key holding the active version of a bundle. */
export function activeBundleKey(bundle: string): string {
  return `active.${bundle}`;
}

/** Object-store names of one compiled bundle version. */
export function bundleArtifactNames(
  bundle: string,
  version: number,
): { wasm: string; data: string } {
  return { wasm: `${bundle}/${version}/policy.wasm`, data: `${bundle}/${version}/data.json` };
}

export function decisionSubject(enforcerId: string): string {
  return `${NATS_NAMES.decisionSubjectPrefix}.${enforcerId}`;
}

/** Bundle and enforcer names travel inside NATS subjects and keys, so they are restricted. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
