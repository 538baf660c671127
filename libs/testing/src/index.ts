export * from './ports';
export * from './tools';
export * from './nats-server';
export * from './issuer';
export * from './decision-event.fixture';
export * from './opa';
