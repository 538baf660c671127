// nginx instances the proxy section starts: a fixed-body upstream and a plain reverse proxy.
// Each runs in the foreground with its own prefix directory and config (never the system
// service), one worker, pinned with taskset.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinned } from './machine.mjs';

/** Small JSON body every proxy variant fetches (a customer record without PII). */
export const PLAIN_BODY = JSON.stringify({
  id: 1,
  name: 'Northwind Traders',
  tier: 'gold',
  country: 'DE',
  open_tickets: 3,
  created_at: '2024-03-01T09:30:00Z',
});

/** The same record shape carrying PII the masking detectors must find (an email and a card number). */
export const PII_BODY = JSON.stringify({
  id: 2,
  name: 'Ada Lovelace',
  email: 'ada.lovelace@example.com',
  card: '4111 1111 1111 1111',
  country: 'GB',
  created_at: '2024-03-01T09:30:00Z',
});

const escapeBody = (s) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");

const common = (dir) => `
worker_processes 1;
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
`;

const temps = (dir) =>
  ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${join(dir, `${t}_temp`)};`)
    .join('\n  ');

/** `GET /customers/1` answers PLAIN_BODY and `GET /customers/2` PII_BODY, from memory, no logging. */
function upstreamConfig(dir, port) {
  return `${common(dir)}
http {
  access_log off;
  ${temps(dir)}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    default_type application/json;
    location = /customers/1 { return 200 '${escapeBody(PLAIN_BODY)}'; }
    location = /customers/2 { return 200 '${escapeBody(PII_BODY)}'; }
    location / { return 404 '{"error":"not found"}'; }
  }
}
`;
}

/**
 * A plain reverse proxy as an operator would configure one: keep-alive to the upstream and an
 * access log (buffered), since the enforcer records every call too.
 */
function proxyConfig(dir, port, upstreamPort) {
  return `${common(dir)}
http {
  log_format main '$remote_addr - [$time_local] "$request" $status $body_bytes_sent $request_time';
  access_log ${join(dir, 'access.log')} main buffer=64k flush=1s;
  ${temps(dir)}
  keepalive_requests 1000000;
  upstream crm { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location /crm/ {
      proxy_pass http://crm/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $proxy_host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`;
}

/** One foreground nginx; `stop()` sends SIGQUIT (graceful) then SIGKILL. */
export class Nginx {
  constructor(name, dir, port, child) {
    this.name = name;
    this.dir = dir;
    this.port = port;
    this.child = child;
    this.stderr = '';
    child.stderr?.on('data', (d) => (this.stderr += d.toString()));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The worker's pid (the process that serves requests), read from the master's children. */
  workerPid() {
    const children = readFileSync(
      `/proc/${this.child.pid}/task/${this.child.pid}/children`,
      'utf8',
    ).trim();
    return Number(children.split(/\s+/)[0]);
  }

  static async upstream(dir, port, cpuList) {
    return Nginx.start('nginx-upstream', dir, port, upstreamConfig(dir, port), cpuList);
  }

  static async proxy(dir, port, upstreamPort, cpuList) {
    return Nginx.start('nginx-proxy', dir, port, proxyConfig(dir, port, upstreamPort), cpuList);
  }

  static async start(name, dir, port, config, cpuList) {
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, config);
    const { command, args } = pinned(cpuList, 'nginx', ['-p', dir, '-c', conf, '-e', 'stderr']);
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const nginx = new Nginx(name, dir, port, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited (${child.exitCode}): ${nginx.stderr}`);
      try {
        const res = await fetch(`${nginx.url}/customers/1`);
        await res.arrayBuffer();
        return nginx;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`${name} did not answer on port ${port}: ${nginx.stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop() {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
