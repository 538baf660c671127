export * from './nats';
export * from './validation';
export * from './bundle';
export * from './decision';
export * from './jetstream';
export * from './credentials';
export * from './connections';
export * from './approvals';
