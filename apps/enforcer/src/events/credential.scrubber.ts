// The credential rules are part of the contract both sides enforce; they live in libs/contracts.
export { CREDENTIAL_HEADERS, scrubDecisionEvent as scrubCredentials } from '@portcullis/contracts';
