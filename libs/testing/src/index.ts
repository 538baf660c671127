export * from './ports';
export * from './tools';
export * from './nats-server';
export * from './issuer';
