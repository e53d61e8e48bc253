// The text report: header, peak, GEMM, per-layer tables, throughput and ratios.

const fixed = (d) => (v) => v.toFixed(d);
const int = (v) => Math.round(v).toLocaleString('en-US');
const ms3 = fixed(3);

/** "median [min–max]" */
export const spread = (s, f) => (s ? `${f(s.median)} [${f(s.min)}–${f(s.max)}]` : '');

/** A plain-text table; `right` says which columns are right-aligned (numbers). */
export function table(head, rows, right = head.map((_, i) => i > 0)) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (right[i] ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join(' | ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('-+-'), ...rows.map(line)].join('\n');
}

/**
 * Layer names as shown in the tables: the leading index ('9 Linear', '10 ReLU') right-aligned, so
 * that the layer types line up past layer 9. Rows that are not layers keep their names.
 */
export function shownNames(rows) {
  const width = Math.max(0, ...rows.filter((r) => r.layer).map((r) => (/^\d+(?= )/.exec(r.name)?.[0].length ?? 0)));
  return rows.map((r) => (r.layer ? r.name.replace(/^\d+(?= )/, (i) => i.padStart(width)) : r.name));
}

/** Seed 001's table (layer | forward ms | backward ms, then totals), every cell with its spread. */
export function profileTable(p) {
  const names = shownNames(p.rows);
  const rows = p.rows.map((r, i) => [names[i], spread(r.forwardMs, ms3), spread(r.backwardMs, ms3)]);
  rows.push(['total', spread(p.forwardMs, ms3), spread(p.backwardMs, ms3)]);
  const ips = p.batch * 1000 / p.stepMs.median;
  return `batch ${p.batch} (${p.method}): ${spread(p.stepMs, ms3)} ms/step = ${int(ips)} img/s\n` +
    table(['layer', 'forward ms', 'backward ms'], rows);
}

/** Medians of several frameworks' per-layer tables side by side (rows matched by position). */
export function sideBySide(named) {
  const [first] = named;
  const head = ['layer', ...named.flatMap(([n]) => [`${n} fwd`, `${n} bwd`])];
  const cell = (s) => (s ? ms3(s.median) : '');
  const layers = first[1].rows.filter((r) => r.layer);
  const names = shownNames(layers);
  const rows = layers.map((r, i) => [names[i], ...named.flatMap(([, p]) => {
    const q = p.rows.filter((x) => x.layer)[i];
    return [cell(q?.forwardMs), cell(q?.backwardMs)];
  })]);
  const extras = (p) => p.rows.filter((r) => !r.layer).reduce((s, r) => s + (r.forwardMs?.median ?? 0) + (r.backwardMs?.median ?? 0), 0);
  rows.push(['loss + optimizer (+ input copy)', ...named.flatMap(([, p]) => [ms3(extras(p)), ''])]);
  rows.push(['step', ...named.flatMap(([, p]) => [ms3(p.stepMs.median), ''])]);
  return table(head, rows);
}

export function header(r) {
  const m = r.machine;
  const relaxed = m.relaxedSimd.now
    ? `yes${m.relaxedSimd.byDefault ? '' : ' (behind --experimental-wasm-relaxed-simd in this Node, set at start as sn.ready() does)'}`
    : `no${r.options.plainSimd ? ' (not enabled: --plain-simd)' : ''}`;
  return [
    `simdnet benchmark, ${m.date}${r.options.quick ? ' (--quick)' : ''}`,
    `Node ${m.node} (V8 ${m.v8}), ${m.platform}; CPU ${m.cpu}, ${m.cores} cores, load average ${m.loadAverage.map((v) => v.toFixed(2)).join(' ')} at start`,
    `wasm SIMD: ${m.wasmSimd ? 'yes' : 'no'}; relaxed SIMD: ${relaxed}`,
    `simdnet build loaded: ${m.simdnetBuild}; every figure on ${m.threads} thread`,
    'Each figure: median of repeated timings after warm-up, [min–max] over the samples.',
  ].join('\n');
}

export function peakSection(peak) {
  const row = (name, p) => [name, spread(p.best, fixed(1)), String(p.best.accumulators),
    Object.entries(p.byAccumulators).map(([k, v]) => `${k}: ${v.median.toFixed(1)}`).join(', ')];
  const rows = [row('f32x4.mul + f32x4.add', peak.mulAdd)];
  if (peak.relaxedMadd) rows.push(row('f32x4.relaxed_madd (FMA)', peak.relaxedMadd));
  return '## wasm SIMD peak on this machine (independent multiply-add chains, GFLOP/s)\n' +
    table(['loop', 'GFLOP/s', 'best at accumulators', 'by accumulators'], rows, [false, true, true, false]) +
    (peak.relaxedMadd ? '' : '\nrelaxed_madd: not accepted by this engine');
}

export function gemmSection(gemm, peak) {
  const head = ['shape (M×K · K×N)', 'GFLOP/s', '% of mul+add peak'];
  if (peak.relaxedMadd) head.push('% of FMA peak');
  const rows = gemm.map((g) => {
    const row = [g.label, spread(g.gflops, fixed(1)), (100 * g.gflops.median / peak.mulAdd.best.median).toFixed(0)];
    if (peak.relaxedMadd) row.push((100 * g.gflops.median / peak.relaxedMadd.best.median).toFixed(0));
    return row;
  });
  return '## GEMM: simdnet gemm() on wasm buffers, GFLOP/s = 2·M·N·K / time\n' + table(head, rows);
}

export function throughputSection(frameworks) {
  const rows = [];
  for (const f of Object.values(frameworks)) {
    if (f.error) { rows.push([f.label, '', `skipped: ${f.error}`, '']); continue; }
    if (f.shipped) rows.push([f.shipped.label, 'any', `fails: ${f.shipped.error}`, 'as below']);
    for (const t of f.throughput) rows.push([f.label, t.batch, t.train ? spread(t.train.imgPerSec, int) : (t.trainNote ?? ''), spread(t.infer.imgPerSec, int)]);
  }
  return '## Throughput, LeNet-5 (img/s; training step = forward + loss + backward + Adam 1e-3)\n' +
    table(['framework', 'batch', 'train img/s', 'inference img/s'], rows, [false, true, true, true]);
}

export function ratioSection(ratios) {
  if (!ratios.length) return '';
  const f = (s) => (s ? `×${s.median.toFixed(2)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}]` : 'n/a');
  return '## simdnet ÷ other, img/s (above 1: simdnet faster; spread from the min and max of both)\n' +
    table(['vs', 'batch', 'train', 'inference'], ratios.map((r) => [r.vs, r.batch, f(r.train), f(r.infer)]), [false, true, true, true]);
}

export function report(r) {
  const parts = [header(r)];
  if (r.peak) parts.push(peakSection(r.peak));
  if (r.gemm) parts.push(gemmSection(r.gemm, r.peak));
  const sn = r.frameworks.simdnet;
  if (sn?.profiles) {
    parts.push('## Per-layer times, simdnet LeNet-5 (model.profile: real training steps, Adam)\n' +
      Object.values(sn.profiles).map(profileTable).join('\n\n'));
  }
  const others = Object.values(r.frameworks).filter((f) => f !== sn && f.profile);
  if (others.length) {
    parts.push(`## Per-layer times of the others at batch ${others[0].profile.batch}\n` +
      others.map((f) => `${f.label}: ${profileTable(f.profile)}`).join('\n\n'));
    const cmp = sn?.profiles?.[others[0].profile.batch];
    const named = [...(cmp ? [['simdnet', cmp]] : []), ...others.map((f) => [f.short, f.profile])];
    parts.push(`## Side by side at batch ${others[0].profile.batch} (medians from the tables above, ms)\n${sideBySide(named)}`);
  }
  parts.push(throughputSection(r.frameworks));
  const ratios = ratioSection(r.ratios);
  if (ratios) parts.push(ratios);
  if (r.notes.length) parts.push(`## Notes\n${r.notes.map((n) => `- ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}
