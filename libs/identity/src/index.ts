export * from './errors';
export * from './verifier';
