// The text report: header, peak, GEMM, per-layer tables, throughput and ratios; the other networks'
// training steps and per-module times beside PyTorch's.
import { kindOf } from './nets.js';

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

/** The module indices a row's name starts with: '3 Conv2d' → [3], '3+4 Conv2d+ReLU' (a fused pair) → [3, 4]; else null. */
function rowIndices(name) {
  const m = /^(\d+(?:\+\d+)*) /.exec(name);
  return m ? m[1].split('+').map(Number) : null;
}

/**
 * The rows of `others` that `row` (the i-th layer row of the first framework) stands for: by module
 * index when both name them so — a fused pair of one ('3+4 Conv2d+ReLU') against the two rows of
 * the other ('3 Conv2d', '4 ReLU') — else the i-th row.
 */
function matchingRows(row, i, others) {
  const mine = rowIndices(row.name);
  if (!mine || !others.every((q) => rowIndices(q.name))) return others[i] ? [others[i]] : [];
  // A row of the other side goes with the row of mine holding its first index: a pair fused on
  // the other side only is shown once, under the first of its two indices.
  return others.filter((q) => mine.includes(rowIndices(q.name)[0]));
}

/**
 * Medians of several frameworks' per-layer tables side by side: rows matched by module index
 * (a fused pair's row against the two rows of a framework that runs them apart, added up), or by
 * position where a side's rows are not named by index.
 */
export function sideBySide(named) {
  const [first] = named;
  const head = ['layer', ...named.flatMap(([n]) => [`${n} fwd`, `${n} bwd`])];
  const layers = first[1].rows.filter((r) => r.layer);
  const names = shownNames(layers);
  const rows = layers.map((r, i) => [names[i], ...named.flatMap(([, p]) => {
    const qs = matchingRows(r, i, p.rows.filter((x) => x.layer));
    const sum = (key) => (qs.some((q) => q[key]) ? ms3(qs.reduce((t, q) => t + (q[key]?.median ?? 0), 0)) : '');
    return [sum('forwardMs'), sum('backwardMs')];
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
    `simdnet build loaded: ${m.simdnetBuild}; every figure on ${r.threads ? 'the thread counts shown' : `${m.threads} thread`}`,
    'Each figure: median of repeated timings after warm-up, [min–max] over the samples.',
  ].join('\n');
}

/**
 * A percentage of the peak as shown: whole numbers up to 100; above, '>100†' (the JSON keeps the
 * number), explained under the table — no kernel runs faster than the peak loop, so such a figure
 * only says that the machine was busier while the peak was measured.
 */
export function percentCell(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  return v > 100.5 ? '>100†' : v.toFixed(0);
}

export const ABOVE_PEAK = '† above the peak measured in this run, which no kernel reaches: either other work on the machine slowed the peak loop (measured twice, the better kept), or, for a dX, the difference of the two backward timings it is taken from (with and without dX) came out too small — noise on a pass that costs little beside dW; the percentage means nothing, see the GFLOP/s.';

export function peakSection(peak) {
  const row = (name, p) => [name, spread(p.best, fixed(1)), String(p.best.accumulators),
    Object.entries(p.byAccumulators).map(([k, v]) => `${k}: ${v.median.toFixed(1)}`).join(', ')];
  const rows = [row('f32x4.mul + f32x4.add', peak.mulAdd)];
  if (peak.relaxedMadd) rows.push(row('f32x4.relaxed_madd (FMA)', peak.relaxedMadd));
  const when = (peak.measurements ?? 1) > 1 ? `; per accumulator count the better of ${peak.measurements} measurements, before and after simdnet's other figures` : '';
  return `## wasm SIMD peak on this machine (independent multiply-add chains, GFLOP/s${when})\n` +
    table(['loop', 'GFLOP/s', 'best at accumulators', 'by accumulators'], rows, [false, true, true, false]) +
    (peak.relaxedMadd ? '' : '\nrelaxed_madd: not accepted by this engine');
}

/** `loop` is peakLoop(): the peak of the instructions the loaded build's kernels use. */
export function gemmSection(gemm, loop) {
  const rows = gemm.map((g) => [g.label, spread(g.gflops, fixed(1)), percentCell(g.percentOfPeak)]);
  const above = gemm.some((g) => g.percentOfPeak > 100.5) ? `\n${ABOVE_PEAK}` : '';
  return '## GEMM: simdnet gemm() on wasm buffers, GFLOP/s = 2·M·N·K / time\n' +
    table(['shape (M×K · K×N)', 'GFLOP/s', `% of ${loop.name} peak`], rows) + above;
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

const ratioText = (s) => (s ? `×${s.median.toFixed(2)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}]` : 'n/a');
const sumOf = (rows, key) => rows.reduce((t, r) => t + (r[key]?.median ?? 0), 0);

/**
 * Per-module rows added up by kind (kindOf: layer type, convolutions by kernel, depthwise and
 * stride), medians summed: [{ kind, simdnet: {rows, forwardMs, backwardMs} | null, pytorch: … | null }],
 * the kinds simdnet spends most on first. A PyTorch row's kind comes from its type and conv fields.
 */
export function kindRows(mine, theirs) {
  const groups = new Map();
  const add = (side, kind, row) => {
    if (!groups.has(kind)) groups.set(kind, { kind, simdnet: null, pytorch: null });
    const g = groups.get(kind);
    g[side] ??= { rows: 0, forwardMs: 0, backwardMs: 0 };
    g[side].rows++;
    g[side].forwardMs += row.forwardMs?.median ?? 0;
    g[side].backwardMs += row.backwardMs?.median ?? 0;
  };
  for (const row of mine?.rows ?? []) if (row.layer) add('simdnet', row.kind ?? row.type ?? row.name, row);
  for (const row of theirs?.rows ?? []) if (row.layer) add('pytorch', kindOf(row.type, row.conv), row);
  const total = (g) => (g.simdnet ? g.simdnet.forwardMs + g.simdnet.backwardMs : -1);
  return [...groups.values()].sort((a, b) => total(b) - total(a) || a.kind.localeCompare(b.kind));
}

/** One network's section: img/s of both frameworks with their ratio, time by kind, the slowest rows. */
export function netSection(n) {
  const mine = n.simdnet, theirs = n.pytorch, pyLabel = n.pytorchLabel ?? 'PyTorch';
  const head = `## ${n.label}, ${n.input.join('×')} images: training step (forward, cross-entropy, backward, SGD momentum 0.9)`;
  const rows = [], failures = [];
  const peer = n.convnetjs;
  const withInfer = [mine, peer].some((f) => f?.throughput?.some((t) => t.infer));
  const add = (label, list, error) => {
    const notRun = ['not run (below)', '', ...(withInfer ? [''] : [])];
    if (error) { rows.push([label, '', ...notRun]); failures.push(`${label}: ${error}`); return; }
    for (const t of list ?? []) {
      if (t.error) failures.push(`${label} at batch ${t.batch}: ${t.error}`);
      rows.push(t.error ? [label, t.batch, ...notRun]
        : [label, t.batch, spread(t.train.imgPerSec, int), spread(t.train.ms, fixed(2)), ...(withInfer ? [t.infer ? spread(t.infer.imgPerSec, int) : ''] : [])]);
    }
  };
  if (mine) add('simdnet', mine.throughput);
  if (theirs) add(pyLabel, theirs.throughput, theirs.error);
  if (peer) add(peer.label, peer.throughput, peer.error);
  const headRow = ['framework', 'batch', 'train img/s', 'ms per step', ...(withInfer ? ['inference img/s'] : [])];
  const parts = [head, table(headRow, rows, headRow.map((_, i) => i > 0)) +
    failures.map((f) => `\nnot run: ${f}`).join('')];
  if (n.ratios?.length) {
    parts.push(`simdnet ÷ PyTorch, train img/s (above 1: simdnet faster): ${n.ratios.map((q) => `batch ${q.batch} ${ratioText(q.train)}`).join(', ')}`);
  }
  if (n.convnetjsRatios?.length) {
    parts.push(`simdnet ÷ ConvNetJS, img/s (above 1: simdnet faster): ${n.convnetjsRatios.map((q) => `batch ${q.batch} train ${ratioText(q.train)}` +
      (q.infer ? `, inference ${ratioText(q.infer)}` : '')).join('; ')}`);
  }
  const mp = mine?.profile?.rows ? mine.profile : null;
  const tp = theirs?.profile?.rows ? theirs.profile : null;
  for (const [who, p] of [['simdnet', mine?.profile], ['PyTorch', theirs?.profile]]) {
    if (p?.error) parts.push(`${who} per-module profile at batch ${p.batch} failed: ${p.error}`);
  }
  if (!mp && !tp) return parts.join('\n');
  const batch = (mp ?? tp).batch;
  const ms = (v) => (v === undefined ? '' : ms3(v));
  const kinds = kindRows(mp, tp).map((g) => [
    g.kind, g.simdnet?.rows ?? '', ms(g.simdnet?.forwardMs), ms(g.simdnet?.backwardMs),
    g.pytorch?.rows ?? '', ms(g.pytorch?.forwardMs), ms(g.pytorch?.backwardMs),
    g.simdnet && g.pytorch ? `×${((g.pytorch.forwardMs + g.pytorch.backwardMs) / (g.simdnet.forwardMs + g.simdnet.backwardMs)).toFixed(2)}` : '',
  ]);
  const extras = (p) => (p ? p.rows.filter((r) => !r.layer) : []);
  const other = (p) => (p ? [ms3(sumOf(extras(p), 'forwardMs')), ms3(sumOf(extras(p), 'backwardMs'))] : ['', '']);
  kinds.push(['not in a module row (see below)', '', ...other(mp), '', ...other(tp), '']);
  kinds.push(['step', '', mp ? ms3(mp.stepMs.median) : '', '', '', tp ? ms3(tp.stepMs.median) : '', '',
    mp && tp ? `×${(tp.stepMs.median / mp.stepMs.median).toFixed(2)}` : '']);
  parts.push(`### Time by kind of module at batch ${batch}: ms per step, sums of the rows' medians (simdnet: ${mp?.method ?? 'not run'}; PyTorch: ${tp?.method ?? 'not run'})\n` +
    table(['kind', 'simdnet rows', 'simdnet fwd', 'simdnet bwd', 'PyTorch rows', 'PyTorch fwd', 'PyTorch bwd', 'PyTorch ms ÷ simdnet ms'], kinds));
  const notIn = [mp && `simdnet: ${extras(mp).map((r) => r.name).join(', ')}`, tp && `PyTorch: ${extras(tp).map((r) => r.name).join('; ')}`].filter(Boolean);
  parts.push(`Not in a module row: ${notIn.join('. ')}.`);
  if (mp) {
    const byPath = new Map((tp?.rows ?? []).filter((r) => r.layer && r.path !== undefined).map((r) => [r.path, r]));
    const cell = (s) => (s ? ms3(s.median) : '');
    const sum = (qs, key) => (qs.length && qs.every((q) => q[key]) ? ms3(qs.reduce((t, q) => t + q[key].median, 0)) : '');
    let summed = false;
    const slow = mp.rows.filter((r) => r.layer)
      .map((r) => ({ r, t: (r.forwardMs?.median ?? 0) + (r.backwardMs?.median ?? 0) }))
      .sort((a, b) => b.t - a.t).slice(0, SLOWEST)
      .map(({ r }) => {
        // A functional op's path is its caller's (a block), not a module PyTorch times.
        const paths = r.path === undefined || r.type?.startsWith('sn.') ? [] : fusedPaths(r.path);
        const qs = paths.map((p) => byPath.get(p)).filter(Boolean);
        if (qs.length > 1) summed = true;
        return [r.name, r.kind ?? '', cell(r.forwardMs), cell(r.backwardMs), sum(qs, 'forwardMs'), sum(qs, 'backwardMs')];
      });
    parts.push(`### The ${slow.length} slowest simdnet rows at batch ${batch} (ms per step; PyTorch's module at the same path beside it` +
      `${summed ? ', for a fused row the sum of PyTorch\'s modules at the paths it names' : ''})\n` +
      table(['module', 'kind', 'simdnet fwd', 'simdnet bwd', 'PyTorch fwd', 'PyTorch bwd'], slow, [false, false, true, true, true, true]));
  }
  return parts.join('\n\n');
}

/**
 * The module paths a profile row's path names: itself, or for a fused row the first layer's path
 * and each later part put in place of as many of its last segments ('features.2.conv.0.1+2' →
 * 'features.2.conv.0.1', 'features.2.conv.0.2'; 'layer1.0.bn1+relu' → 'layer1.0.bn1', 'layer1.0.relu').
 */
export function fusedPaths(path) {
  const [first, ...rest] = path.split('+');
  const head = first.split('.');
  return [first, ...rest.map((part) => {
    const tail = part.split('.');
    return [...head.slice(0, Math.max(0, head.length - tail.length)), ...tail].join('.');
  })];
}

const PASSES = [['forward', 'fwd'], ['inputGrad', 'dX'], ['weightGrad', 'dW']];

/** Whether the zoo's target counts a shape: a 3×3 or 1×1 convolution, not grouped, with ≥ 32 channels in and out. */
export function isZooTargetShape(s) {
  const k = s.config.kernelSize;
  return s.config.groups === 1 && s.C >= 32 && s.config.outChannels >= 32 && k[0] === k[1] && (k[0] === 3 || k[0] === 1);
}

/**
 * Issue-style target of the zoo: the 3×3 and 1×1 convolutions (not grouped) with at least 32
 * channels in and out, at batch ≥ 16: how many of their passes reach 70% of the peak.
 */
export function zooTarget(zoo, { direct = false } = {}) {
  const shapes = new Map(zoo.shapes.map((s) => [s.id, s]));
  const rows = zoo.cases.filter((c) => c.simdnet && c.batch >= 16 && isZooTargetShape(shapes.get(c.shape)));
  // direct: a pass the layer runs by Winograd counts with the direct path's figure timed beside it.
  const percent = (c, key) => (direct && c.simdnet.winogradPasses?.includes(key) ? c.simdnet.direct?.percentOfPeak?.[key] : c.simdnet.percentOfPeak[key]);
  return Object.fromEntries(PASSES.map(([key]) => {
    const p = rows.map((c) => percent(c, key)).filter((v) => v !== null && v !== undefined);
    return [key, { cases: p.length, atLeast70: p.filter((v) => v >= 70).length, lowest: p.length ? Math.min(...p) : null, median: p.length ? [...p].sort((a, b) => a - b)[p.length >> 1] : null }];
  }));
}

/** The shape zoo: what is measured, the target check, then a table per network of the shapes first seen in it. */
export function zooSection(r) {
  const { zoo } = r;
  const loop = r.peakLoop;
  const pt = zoo.pytorchLabel && !r.notes.some((n) => n.startsWith(`${zoo.pytorchLabel} skipped`)) ? zoo.pytorchLabel : null;
  const parts = [`## Convolution shape zoo: each convolution alone, forward (fwd), input gradient (dX) and weight gradient (dW)\n` +
    `ms per call; GFLOP/s on the direct convolution's FLOPs (for passes run by Winograd: direct-equivalent GFLOP/s); %: on the FLOPs executed (Winograd's: its 16, 36 or 64 GEMMs), of the ${loop ? `${loop.name} peak, ${loop.gflops.toFixed(1)} GFLOP/s in this run` : 'peak (not measured: simdnet not run)'}` +
    `${pt ? `; PyTorch: ${pt}, ms, and PyTorch's time ÷ simdnet's (above 1: simdnet faster)` : ''}. Networks: ` +
    Object.entries(zoo.nets).map(([k, n]) => `${k} = ${n.label} (${n.input.join('×')})`).join(', ') + '.' +
    (zoo.targetsOnly ? ` --targets: only the shapes the target below counts, at batch ${zoo.batches.join(', ')}.` : '')];
  if (loop) {
    const t = zooTarget(zoo);
    const line = ([key, name]) => `${name} ${t[key].atLeast70}/${t[key].cases}` + (t[key].cases ? ` (lowest ${t[key].lowest.toFixed(0)}%, median ${t[key].median.toFixed(0)}%)` : '');
    parts.push(`3×3 and 1×1 convolutions with ≥ 32 channels in and out, batch ≥ 16, passes at ≥ 70% of the peak: ${PASSES.map(line).join('; ')}.`);
    if (zoo.cases.some((c) => c.simdnet?.direct)) {
      const d = zooTarget(zoo, { direct: true });
      const dline = ([key, name]) => `${name} ${d[key].atLeast70}/${d[key].cases}` + (d[key].cases ? ` (lowest ${d[key].lowest.toFixed(0)}%, median ${d[key].median.toFixed(0)}%)` : '');
      parts.push(`The same passes by the direct kernels (where the layer runs Winograd, the direct flat path timed beside it; the other passes as above): ${PASSES.map(dline).join('; ')}.`);
    }
  }
  const shapes = new Map(zoo.shapes.map((s) => [s.id, s]));
  const cell = (v, f) => (v === null || v === undefined || !Number.isFinite(v) ? '' : f(v));
  const byNet = new Map(Object.keys(zoo.nets).map((k) => [k, []]));
  for (const c of zoo.cases) byNet.get(shapes.get(c.shape).net).push(c);
  let above = false;
  const shared = zoo.shapes.some((s) => Object.keys(s.uses).length > 1);
  const anyWino = zoo.cases.some((c) => c.simdnet?.winograd);
  const anyDirect = zoo.cases.some((c) => c.simdnet?.direct);
  for (const [key, cases] of byNet) {
    if (!cases.length) continue;
    const rows = cases.map((c) => {
      const s = shapes.get(c.shape);
      const others = Object.entries(s.uses).filter(([k]) => k !== key).map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
      const head = [c.batch === zoo.batches.find((b) => cases.some((x) => x.shape === c.shape && x.batch === b)) ? `${s.label}${s.uses[key] > 1 ? ` ×${s.uses[key]}` : ''}` : '',
        c.batch, (c.flops / 1e9).toFixed(3)];
      const also = shared ? [others.join(', ')] : [];
      if (c.trimmed) return [...head, 'left out (--quick)', ...Array(9 + (anyDirect ? 2 : 0) + (anyWino ? 4 : 0) + (pt ? 4 : 0)).fill(''), ...also];
      const sn = PASSES.flatMap(([k]) => {
        const ms = c.simdnet?.ms[k]?.median, g = c.simdnet?.gflops[k]?.median, p = c.simdnet?.percentOfPeak?.[k];
        if (p > 100.5) above = true;
        return [ms <= 0 ? '~0' : cell(ms, ms3), cell(g, fixed(1)), percentCell(p)];
      });
      const d = c.simdnet?.direct;
      const direct = !anyDirect ? [] : !d ? ['', ''] : [
        PASSES.map(([k]) => (d.ms[k]?.median <= 0 ? '~0' : cell(d.ms[k]?.median, ms3))).join(' / '),
        PASSES.map(([k]) => {
          const p = d.percentOfPeak?.[k];
          if (p > 100.5) above = true;
          return percentCell(p) || '–';
        }).join(' / '),
      ];
      const wino = !anyWino ? [] : [c.simdnet?.winograd, c.simdnet?.winogradF4x4].flatMap((w) => (!w ? ['', ''] : [
        WINO_PASSES.filter((k) => w.ms[k]).map((k) => cell(w.ms[k]?.median, ms3)).join(' / '),
        WINO_PASSES.filter((k) => w.ms[k]).map((k) => {
          const a = c.simdnet.ms[k]?.median, b = w.ms[k]?.median;
          return a > 0 && b > 0 ? (a / b).toFixed(2) : '–';
        }).join(' / '),
      ]));
      const theirs = !pt ? [] : c.pytorch?.error ? ['failed (JSON)', '', '', ''] : [
        ...PASSES.map(([k]) => cell(c.pytorch?.ms[k]?.median, ms3)),
        PASSES.map(([k]) => {
          const a = c.pytorch?.ms[k]?.median, b = c.simdnet?.ms[k]?.median;
          return a > 0 && b > 0 ? (a / b).toFixed(2) : '–';
        }).join(' / '),
      ];
      const dwTile = c.simdnet?.weightGradTile ?? 2;
      // 5×5 kernels: the weight gradient F(5×5,2×2) (2×2 tiles of dy); 3×3: F(m×m) by m×m tiles.
      const dwName = c.simdnet?.algorithm?.endsWith('-5x5') ? `F(5×5,${dwTile}×${dwTile})` : `F(${dwTile}×${dwTile})`;
      const algorithm = (c.simdnet?.algorithm ?? '') + (c.simdnet?.winogradPasses?.includes('weightGrad') ? ` (dW: ${dwName})` : '');
      return [...head, algorithm, ...sn, ...direct, ...wino, ...theirs, ...also];
    });
    const headRow = ['shape', 'batch', 'GFLOP', 'algorithm', 'fwd ms', 'GFLOP/s', '%', 'dX ms', 'GFLOP/s', '%', 'dW ms', 'GFLOP/s', '%',
      ...(anyDirect ? ['direct fwd / dX / dW ms', 'direct % fwd / dX / dW'] : []),
      ...(anyWino ? ['F(2×2) fwd / dX / dW ms', 'layer ÷ F(2×2) fwd / dX / dW', 'F(4×4) fwd / dX / dW ms', 'layer ÷ F(4×4) fwd / dX / dW'] : []),
      ...(pt ? ['PyTorch fwd ms', 'dX ms', 'dW ms', 'PyTorch ÷ simdnet fwd / dX / dW'] : []), ...(shared ? ['also in'] : [])];
    const right = headRow.map((h, i) => i > 0 && h !== 'also in' && h !== 'algorithm');
    parts.push(`### ${zoo.nets[key].label} (${key}): its convolutions not already listed above\n${table(headRow, rows, right)}`);
  }
  if (above) parts.push(ABOVE_PEAK);
  return parts.join('\n\n');
}

/**
 * LeNet-5 trained by a hand-written loop on both sides: img/s per batch of simdnet and PyTorch,
 * and simdnet's ÷ PyTorch's.
 */
export function manualSection(m) {
  const rows = [];
  for (const t of m.simdnet ?? []) rows.push(['simdnet', t.batch, spread(t.train.imgPerSec, int), spread(t.train.ms, fixed(3))]);
  if (m.pytorch?.error) rows.push([m.pytorchLabel ?? 'PyTorch', '', `not run: ${m.pytorch.error}`, '']);
  else for (const t of m.pytorch ?? []) rows.push([m.pytorchLabel ?? 'PyTorch', t.batch, spread(t.train.imgPerSec, int), spread(t.train.ms, fixed(3))]);
  const parts = ['## LeNet-5, a hand-written training loop: forward, cross-entropy, loss.backward(), SGD momentum 0.9 step, zero-grad (input not requiring grad)\n' +
    table(['framework', 'batch', 'train img/s', 'ms per step'], rows, [false, true, true, true])];
  if (m.ratios?.length) parts.push(`simdnet ÷ PyTorch, train img/s (above 1: simdnet faster): ${m.ratios.map((q) => `batch ${q.batch} ${ratioText(q.train)}`).join(', ')}`);
  return parts.join('\n');
}

/**
 * The speed targets' table (bench/targets.js targetsTable's rows): each target, its goal, the
 * figure this run measured, met or not met, and the gap.
 */
export function targetsSection(rows) {
  const verdict = (t) => (t.met === null ? '–' : t.met ? 'met' : 'NOT MET');
  const excess = (t) => (t.excess ?? []).map((g) => `${g.kind} ${g.simdnetMs.toFixed(1)} vs ${g.pytorchMs.toFixed(1)} ms`).join('; ');
  const table_ = table(['target', 'goal', 'measured (median [min–max])', 'verdict', 'gap', 'most lost to PyTorch (per step, simdnet vs PyTorch)'],
    rows.map((t) => [t.target, t.goal, t.measured ? t.shown : NOT_MEASURED_TEXT, verdict(t), t.met === null ? '' : t.gap, excess(t)]),
    [false, true, true, false, false, false]);
  const met = rows.filter((t) => t.met).length, measured = rows.filter((t) => t.met !== null).length;
  return `## Speed targets (this run, one thread; a ratio is simdnet's training img/s over the peer's, met when its median reaches the goal)\n${table_}\n` +
    `${met} of ${measured} measured targets met; ${rows.length - measured} not measured in this run. A target not met: its network's section above has the time by kind of module that explains the gap.`;
}

const NOT_MEASURED_TEXT = 'not measured in this run';

/** The passes the zoo times Winograd's raw kernels on (F(4×4) has no weight gradient of its own). */
const WINO_PASSES = ['forward', 'inputGrad', 'weightGrad'];

/** How many of simdnet's slowest per-module rows a network's section lists (the JSON has them all). */
export const SLOWEST = 15;

/** The threads column: per network and for GEMM 512³, each thread count's rate and its ratio to 1 thread in the same run. */
export function threadsSection(t) {
  const cells = (rows, f) => rows.flatMap((row) => [`${f(row.rate)} [×${row.ratio.toFixed(2)}]`]);
  const threadsOf = (n) => `${n} thread${n > 1 ? 's' : ''}`;
  const pt = t.pytorch && !t.pytorch.error;
  const head = ['', ...t.counts.map(threadsOf), ...(pt ? [...t.counts.map((n) => `PyTorch ${threadsOf(n)}`), `simdnet ${threadsOf(t.counts.at(-1))} ÷ PyTorch's best`] : [])];
  const pytorchCells = (n) => (pt ? [...(n.pytorch ?? []).map((r) => (r.rate > 0 ? int(r.rate) : 'error')), n.vsPytorchBest ? `×${n.vsPytorchBest.toFixed(2)}${n.vsPytorchBestPaired ? ` [${n.vsPytorchBestPaired.min.toFixed(2)}–${n.vsPytorchBestPaired.max.toFixed(2)}], paired` : ''}` : ''] : []);
  const rows = [
    ['GEMM 512³ (row panels), GFLOP/s', ...cells(t.gemm, fixed(1)), ...(pt ? t.counts.map(() => '').concat('') : [])],
    ...t.nets.map((n) => [`${n.label}, img/s`, ...cells(n.rows, int), ...pytorchCells(n)]),
  ];
  const note = !t.pytorch ? '' : pt ? `\n${t.pytorch.label}: torch.set_num_threads and the OMP/MKL/OpenBLAS threads at each count, the same training step (SGD with momentum 0.9, cross-entropy), timed after simdnet's.${t.nets.some((n) => n.vsPytorchBestPaired) ? ' The last column, "paired": simdnet on all threads and PyTorch at each count timed one right after the other in 7 rounds (bench/paired.js), each round\'s ratio to the fastest PyTorch of that round; median [min–max] over the rounds.' : ''}`
    : `\nPyTorch skipped: ${t.pytorch.error}`;
  const h = t.handOff, us = (v) => `${v.toFixed(1)} µs`;
  const handOff = h ? `\nHand-off (pool.run of an empty task on each of ${h.threads} threads, ${h.calls} calls, each after ${h.gapMs} ms of the calling thread's own work): median ${us(h.median)}, 90th percentile ${us(h.p90)}, 99th ${us(h.p99)}, longest ${us(h.max)}.` : '';
  const apart = t.nets.filter((n) => n.apart);
  const ceiling = apart.length ? `\nSeparate processes, one thread each (no shared memory, no hand-offs): ${apart[0].apart.procs} at once at batch ${apart[0].apart.batch}, their img/s summed ÷ one at batch ${t.batch} alone, median [min–max] of ${apart[0].apart.ratio.samples} rounds: ${apart.map((n) => `${n.label} ×${n.apart.ratio.median.toFixed(2)} [${n.apart.ratio.min.toFixed(2)}–${n.apart.ratio.max.toFixed(2)}]`).join(', ')}. What this machine gives to independent work on as many cores: a ceiling for the thread counts above.` : '';
  const steal = t.steal ? `\nSteal time while simdnet's figures above were taken (/proc/stat: each vCPU's time spent ready while the hypervisor ran something else): ${t.steal.map((v, i) => `cpu${i} ${(100 * v).toFixed(1)}%`).join(', ')}.` : '';
  const busy = t.nets.filter((n) => n.busy);
  const busyLine = busy.length ? `\nWith another process keeping a core busy (a loop at this one's priority), ${threadsOf(busy[0].busy.threads)} ÷ 1 thread: ${busy.map((n) => `${n.label} ×${n.busy.ratio.toFixed(2)}`).join(', ')}.` : '';
  const balanceLine = balanceSection(t);
  const warm = t.warmupMs ? `\nEach network ran ${(t.warmupMs / 1000).toFixed(0)} s untimed at each thread count first: its first seconds on several threads run slower while V8 optimizes the step on threads of its own (WARMUP_MS in bench/threads.js).` : '';
  return `## Threads: training steps at batch ${t.batch} on 1, 2 and all threads (img/s [× 1 thread], timed alternately in one run)\n${table(head, rows)}${warm}${balanceLine}${ceiling}${busyLine}${handOff}${steal}${note}`;
}

/**
 * The threads section's line on how evenly the split calls ended (bench/threads.js poolBalance):
 * per network and GEMM, on the most threads, the calling thread's wait for the workers as a share
 * of the timed steps, and the calls the workers finished first. Empty where none was recorded.
 */
export function balanceSection(t) {
  const top = (rows) => rows?.find((r) => r.threads === t.counts.at(-1))?.balance;
  const items = [['GEMM 512³', top(t.gemm)], ...t.nets.map((n) => [n.label, top(n.rows)])].filter(([, b]) => b);
  if (!items.length || t.counts.at(-1) < 2) return '';
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  return `\nBalance of the split calls on ${t.counts.at(-1)} threads, over the timed samples: the calling thread's wait for the workers' shares after its own, as a share of the time, and the share of the calls whose workers were done first (their waits for the calling thread are not counted): ${items.map(([label, b]) => `${label} ${pct(b.waitShare)} (${pct(b.workersFirst)} of ${int(b.calls)} calls)`).join(', ')}. Where a call gives each thread a fixed share, a thread's wait for another is what smaller shares taken by whichever thread is free could give back; where it is cut into units (a convolution's forward, its Winograd input gradient and the sums of its Winograd weight gradient), what is left is the last units' tail.`;
}

export function report(r) {
  const parts = [header(r)];
  if (r.peak) parts.push(peakSection(r.peak));
  if (r.gemm) parts.push(gemmSection(r.gemm, r.peakLoop));
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
  if (Object.keys(r.frameworks).length) parts.push(throughputSection(r.frameworks));
  if (r.manual) parts.push(manualSection(r.manual));
  for (const n of Object.values(r.nets ?? {})) parts.push(netSection(n));
  if (r.zoo) parts.push(zooSection(r));
  if (r.threads) parts.push(threadsSection(r.threads));
  const ratios = ratioSection(r.ratios);
  if (ratios) parts.push(ratios);
  if (r.notes.length) parts.push(`## Notes\n${r.notes.map((n) => `- ${n}`).join('\n')}`);
  if (r.targets) parts.push(targetsSection(r.targets));
  return `${parts.join('\n\n')}\n`;
}
