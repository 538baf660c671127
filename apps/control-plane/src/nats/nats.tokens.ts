/** `NatsConnection` (from @nats-io/transport-node), connected at boot, closed on shutdown. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
/** `JetStreamTopology` from @portcullis/contracts: the bundle KV, artifact store and enforcer KV. */
export const JETSTREAM_TOPOLOGY = Symbol('JETSTREAM_TOPOLOGY');
