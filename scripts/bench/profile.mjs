// Summarizes V8 CPU profiles (.cpuprofile, from node --cpu-prof): self time per function, so
// the enforcer's hot spots under load can be read without opening DevTools.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../tools.mjs';

/** Top `limit` functions by self time across every profile in `dir`, as text lines. */
export function summarizeProfiles(dir, limit = 30) {
  const self = new Map();
  let totalUs = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const dt = new Map();
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i];
      dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    for (const [id, us] of dt) {
      const cf = byId.get(id)?.callFrame;
      if (!cf) continue;
      const where = cf.url
        ? `${relative(ROOT, cf.url.replace(/^file:\/\//, ''))}:${cf.lineNumber + 1}`
        : '';
      const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + us);
      totalUs += us;
    }
  }
  const busyUs = totalUs - (self.get('(idle)') ?? 0);
  const rows = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit);
  return [
    `busy ${(busyUs / 1e6).toFixed(1)} s of ${(totalUs / 1e6).toFixed(1)} s sampled; self time:`,
    ...rows.map(([k, us]) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${k}`),
  ];
}
