// Writes the results: <name>.json (machine-readable, the keys docs/performance.md lists) and
// <name>.md (the tables people read), side by side in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tools.mjs';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

const num = (x, digits = 0) =>
  typeof x === 'number' && Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

const pass = (ok) => (ok === null ? 'n/a' : ok ? 'met' : '**not met**');

/** The targets from issue 5, evaluated on a result. */
export function targets(r) {
  const d = r.decision;
  const p = r.proxy;
  return {
    // Measured on the same single core; per CPU-second, so an nginx the load side could not
    // saturate is not under-counted.
    throughput_half_of_nginx: p ? p.ratio_capacity_enforcer_nginx >= 0.5 : null,
    decision_20x_cheaper: d ? d.sidecar_us_p50 >= 20 * d.enforcer_us_p50 : null,
    propagation_p99_under_1s: r.propagation
      ? r.propagation.failure === null && r.propagation.p99_ms < 1000
      : null,
  };
}

function markdown(r) {
  const m = r.machine;
  const lines = [
    `# Portcullis benchmark (${r.mode} run)`,
    '',
    `${r.finished_at} · ${m.cores} cores (${m.cpu_model}), ${m.memory_gib} GiB · node ${m.node} · ` +
      `${m.nginx} · ${m.wrk} · opa ${m.opa} · ${m.nats_server}` +
      (m.postgres ? ` · PostgreSQL ${m.postgres}` : ''),
    '',
    `Code: ${r.source.commit ? `${r.source.commit}${r.source.changed_files ? ` with ${r.source.changed_files} changed files` : ''}` : r.source.described}. ` +
      `Duration ${r.duration_s} s.`,
    '',
    `Core layout: ${r.layout}. The machine may have been shared with other work during the run;`,
    'compare runs made back to back. Method: [docs/performance.md](../../docs/performance.md).',
    '',
  ];
  const t = r.targets;
  if (r.decision) {
    const d = r.decision;
    lines.push(
      '## 1. Decision cost (µs per decision, sequential)',
      '',
      '| | p50 | p99 | mean |',
      '| --- | ---: | ---: | ---: |',
      `| enforcer, in-process WASM | ${num(d.enforcer_us_p50, 1)} | ${num(d.enforcer_us_p99, 1)} | ${num(d.enforcer_us_mean, 1)} |`,
      `| OPA sidecar, keep-alive HTTP, own core | ${num(d.sidecar_us_p50, 1)} | ${num(d.sidecar_us_p99, 1)} | ${num(d.sidecar_us_mean, 1)} |`,
      `| OPA sidecar, keep-alive HTTP, caller's core | ${num(d.sidecar_same_core_us_p50, 1)} | ${num(d.sidecar_same_core_us_p99, 1)} | ${num(d.sidecar_same_core_us_mean, 1)} |`,
      `| sidecar (own core) / enforcer | ${num(d.ratio_p50, 1)}× | ${num(d.ratio_p99, 1)}× | |`,
      '',
      `Target: in-process at least 20× cheaper at p50 — ${pass(t.decision_20x_cheaper)}.`,
      '',
    );
  }
  if (r.proxy) {
    const p = r.proxy;
    const row = (name, k) => {
      const run = p.runs[k];
      if (!run) return `| ${name} | ${p.masking === 'supported' ? '—' : p.masking} | | | | | | |`;
      return (
        `| ${name} | ${num(run.throughput.rps)} | ${num(run.throughput.p50_ms, 2)} | ${num(run.throughput.p99_ms, 2)} | ` +
        `${num(run.latency.p50_ms, 3)} | ${num(run.latency.p99_ms, 3)} | ${run.throughput.proxy_cpu === null ? '' : num(run.throughput.proxy_cpu * 100)}% | ` +
        `${num(run.throughput.rps / run.throughput.proxy_cpu)} |`
      );
    };
    const conns = p.runs.direct.throughput.connections;
    const unsaturated = Object.entries(p.saturated)
      .filter(([, ok]) => !ok)
      .map(([k]) => k);
    lines.push(
      '## 2. Proxy cost (small JSON response)',
      '',
      `| target | req/s (${conns} conns) | p50 ms | p99 ms | p50 ms (1 conn) | p99 ms (1 conn) | CPU of the server | req per CPU-second |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('(a) direct upstream', 'direct'),
      row('(b) nginx reverse proxy', 'nginx'),
      row('(ref) bare node:http proxy', 'node_bare'),
      row('(c) enforcer, allow policy, events on', 'enforcer'),
      row('(d) enforcer + masking (PII response)', 'enforcer_mask'),
      '',
      `Enforcer / nginx throughput: **${num(p.ratio_throughput_enforcer_nginx, 2)}** measured, ` +
        `**${num(p.ratio_capacity_enforcer_nginx, 2)}** per CPU-second of the proxy ` +
        `(target ≥ 0.5 — ${pass(t.throughput_half_of_nginx)}); enforcer / bare node:http proxy ` +
        `${num(p.ratio_throughput_enforcer_node_bare, 2)}, bare node:http proxy / nginx ` +
        `${num(p.ratio_throughput_node_bare_nginx, 2)}. ` +
        `Added latency at 1 connection, p50: nginx ${num(p.nginx_added_p50_ms, 3)} ms, enforcer ` +
        `${num(p.enforcer_added_p50_ms, 3)} ms (${num(p.ratio_added_latency_p50_enforcer_nginx, 1)}×); ` +
        `p99: nginx ${num(p.nginx_added_p99_ms, 3)} ms, enforcer ${num(p.enforcer_added_p99_ms, 3)} ms ` +
        `(${num(p.ratio_added_latency_p99_enforcer_nginx, 1)}×).`,
      '',
      unsaturated.length
        ? `Not saturated (its core under 90 % busy, so the load side limited the run): ${unsaturated.join(', ')}. ` +
            'Their measured req/s understate what they can do on one core; the CPU-second column does not.'
        : 'Every proxy under test kept its core at least 90 % busy.',
      '',
      `Decision events: ${num(p.enforcer_events.published)} published, ` +
        `${num(p.enforcer_events.dropped)} dropped, ${num(p.enforcer_events.queued_at_end)} still queued at the end.`,
      '',
    );
  }
  if (r.propagation) {
    const g = r.propagation;
    lines.push(
      `## 3. Propagation (activate → all ${g.enforcers} enforcers enforce the new version)`,
      '',
      '| activations | p50 ms | p99 ms | max ms | per enforcer p50 ms | per enforcer p99 ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${g.activations} | ${num(g.p50_ms, 1)} | ${num(g.p99_ms, 1)} | ${num(g.max_ms, 1)} | ${num(g.per_enforcer_p50_ms, 1)} | ${num(g.per_enforcer_p99_ms, 1)} |`,
      '',
      ...(g.failure
        ? [
            `**Activation ${g.activations + 1} of ${g.activations_planned} did not reach every enforcer:**`,
            '',
            '```',
            g.failure.split('\n').slice(0, 4).join('\n'),
            '```',
            '',
          ]
        : []),
      `Target: p99 under one second — ${pass(t.propagation_p99_under_1s)}.`,
      '',
    );
  }
  if (r.ingest) {
    const i = r.ingest;
    const row = (name, x, why) =>
      x
        ? `| ${name} | ${num(x.events)} (+${num(x.resent)} re-sent) | ${num(x.per_s)} | ${num(x.sustained_per_s)} | ${num(x.publish_per_s)} | ${x.lost} | ${x.duplicated} |`
        : `| ${name} | skipped: ${why} | | | | | |`;
    lines.push(
      '## 4. Decision ingest (JetStream → control plane → store)',
      '',
      '| store | events | stored/s (overall) | stored/s (10–90 %) | published/s | lost | duplicated |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('SQLite', i.sqlite),
      row('PostgreSQL', i.postgres, i.postgres_skipped),
      '',
    );
  }
  if (r.errors.length)
    lines.push('## Sections that failed', '', ...r.errors.map((e) => `- ${e}`), '');
  return lines.join('\n');
}

/**
 * Writes `<name>.json` and `<name>.md`, formatted with the repository's Prettier settings so that
 * `npm test`'s format check passes on committed results; returns their paths and the Markdown.
 */
export async function writeResults(name, result) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${name}.json`);
  const md = join(RESULTS_DIR, `${name}.md`);
  const prettier = await import('prettier');
  const format = async (text, file) =>
    prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
  const text = await format(markdown(result), md);
  writeFileSync(json, await format(JSON.stringify(result), json));
  writeFileSync(md, text);
  return { json, md, markdown: text };
}
