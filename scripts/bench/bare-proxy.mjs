// Reference point for the proxy section, not a product: the smallest keep-alive reverse proxy
// node:http allows (no auth, no policy, no events, no header rules). The enforcer runs on the
// same runtime, so its distance to this is what Portcullis itself costs; this one's distance
// to nginx is what node:http costs. Run: node bare-proxy.mjs <listenPort> <upstreamPort>
import { Agent, createServer, request } from 'node:http';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const upstream = request(
    {
      host: '127.0.0.1',
      port: upstreamPort,
      method: req.method,
      path: req.url.replace(/^\/crm/, ''),
      headers: { accept: req.headers.accept ?? '*/*' },
      agent,
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  upstream.once('error', () => {
    res.writeHead(502).end();
  });
  req.pipe(upstream);
});
server.listen(port, '127.0.0.1', () => process.stdout.write('{"msg":"listening"}\n'));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
