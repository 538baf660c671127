import type { ServerResponse } from 'node:http';

/** Ends `res` with `body` as JSON: the status, a JSON content type and an exact content-length. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
