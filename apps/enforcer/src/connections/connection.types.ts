/** An upstream credential in clear, as the HTTP adapter injects it after the decision. */
export type InjectedCredential =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

/**
 * A connection as the data path uses it. credentials 'unavailable' = it needs credentials this
 * enforcer cannot decrypt (yet): calls must fail closed (503), never go out without them.
 * Objects are immutable and replaced as a whole on any change, so identity means "unchanged".
 */
export interface ResolvedConnection {
  readonly name: string;
  readonly type: 'http';
  readonly url: URL;
  readonly labels: Record<string, string>;
  readonly credentials: InjectedCredential | null | 'unavailable';
  readonly source: 'file' | 'control-plane';
}

/** Where the data path looks a connection up by name, once per call: synchronous and cheap. */
export interface ConnectionSource {
  get(name: string): ResolvedConnection | null;
}
