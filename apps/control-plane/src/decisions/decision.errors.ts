import { InvalidRequestError, NotFoundError } from '../errors/domain.error';

/**
 * A query parameter of `GET /v1/decisions` is invalid (400 `invalid_request`). `parameter` names
 * it and the message says what is accepted; both are safe to show the caller (a bad cursor's
 * content is never echoed).
 */
export class DecisionQueryError extends InvalidRequestError {
  constructor(
    readonly parameter: string,
    detail: string,
  ) {
    super(`${parameter} ${detail}`);
    this.name = 'DecisionQueryError';
  }
}

/** No decision with that id is stored (404 `not_found`); events arrive asynchronously, so maybe not yet. */
export class DecisionNotFoundError extends NotFoundError {
  constructor(readonly decisionId: string) {
    super(`decision ${decisionId} not found`);
    this.name = 'DecisionNotFoundError';
  }
}
