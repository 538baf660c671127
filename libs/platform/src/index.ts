export * from './lifecycle';
export * from './config';
export * from './logger';
export * from './process';
export * from './http-json';
export * from './nats-auth';
