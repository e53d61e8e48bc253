// The speed targets' table: each target with the figure this run measured for it, met or not met
// and by how much. Filled from the result runBench builds; `--targets` runs just what it needs.
import { zooTarget, kindRows } from './report.js';

/** The networks --targets runs (LeNet-5 for its hand-written loop only). */
export const TARGET_NETS = ['lenet5', 'vgg-cifar', 'convnetjs-cifar', 'seed003-cifar', 'resnet20', 'mobilenetv2'];

/** The batch sizes --targets runs each network at: `default`, or the network's own. */
export const TARGET_NET_BATCHES = { default: [64], 'seed003-cifar': [16] };

/** The batch sizes of LeNet-5's hand-written loop (the default of --manual-batches too). */
export const TARGET_MANUAL_BATCHES = [10, 64];

/** The zoo's batch sizes under --targets (the target counts batch ≥ 16). */
export const TARGET_ZOO_BATCHES = [16];

/** The 70%-of-peak target of the zoo's 3×3 and 1×1 convolutions. */
export const ZOO_PEAK_PERCENT = 70;

/**
 * The targets: a ratio of simdnet's training img/s over a peer's at one batch, read off the
 * result's paired rounds r.paired[`paired`] where the run has them (--targets with PyTorch:
 * bench/paired.js), else by `ratios(r)` (a list of { batch, train }); or the zoo's count.
 */
export const TARGETS = [
  { key: 'vgg-cifar', target: 'VGG-style CIFAR net train step ≥ 1.0× PyTorch 1 thread, batch 64', goal: 1, batch: 64, ratios: (r) => r.nets?.['vgg-cifar']?.ratios, net: 'vgg-cifar', paired: 'vgg-cifar@64' },
  { key: 'convnetjs-cifar', target: 'ConvNetJS\'s CIFAR net ≥ 1.0× PyTorch 1 thread, batch 64', goal: 1, batch: 64, ratios: (r) => r.nets?.['convnetjs-cifar']?.ratios, net: 'convnetjs-cifar', paired: 'convnetjs-cifar@64' },
  { key: 'convnetjs-cifar-vs-convnetjs', target: 'ConvNetJS\'s CIFAR net ≥ 30× ConvNetJS, batch 64', goal: 30, batch: 64, ratios: (r) => r.nets?.['convnetjs-cifar']?.convnetjsRatios },
  { key: 'seed003-cifar', target: 'seed 003\'s CIFAR net ≥ 1.0× PyTorch 1 thread, batch 16', goal: 1, batch: 16, ratios: (r) => r.nets?.['seed003-cifar']?.ratios, net: 'seed003-cifar', paired: 'seed003-cifar@16' },
  { key: 'resnet20', target: 'ResNet-20 for CIFAR ≥ 1.0× PyTorch 1 thread, batch 64', goal: 1, batch: 64, ratios: (r) => r.nets?.resnet20?.ratios, net: 'resnet20', paired: 'resnet20@64' },
  { key: 'mobilenetv2', target: 'MobileNetV2 width 0.5 on 32×32 ≥ 1.0× PyTorch 1 thread, batch 64', goal: 1, batch: 64, ratios: (r) => r.nets?.mobilenetv2?.ratios, net: 'mobilenetv2', paired: 'mobilenetv2@64' },
  { key: 'zoo-peak', target: `3×3 / 1×1 convolutions with ≥ 32 channels, batch ≥ 16: every pass (fwd, dX, dW) ≥ ${ZOO_PEAK_PERCENT}% of the FMA peak`, zoo: true },
  { key: 'zoo-peak-direct', target: `The same passes by the direct kernels (the direct path timed beside Winograd where the layer runs Winograd) ≥ ${ZOO_PEAK_PERCENT}% of the FMA peak`, zoo: true, direct: true },
  { key: 'lenet5-manual-10', target: 'LeNet-5 hand-written loop ≥ 1.3× PyTorch 1 thread, batch 10', goal: 1.3, batch: 10, ratios: (r) => r.manual?.ratios, paired: 'lenet5-manual@10' },
  { key: 'lenet5-manual-64', target: 'LeNet-5 hand-written loop ≥ 1.3× PyTorch 1 thread, batch 64', goal: 1.3, batch: 64, ratios: (r) => r.manual?.ratios, paired: 'lenet5-manual@64' },
];

export const NOT_MEASURED = 'not measured in this run';

/**
 * A ratio target's row from the ratio measured (a {median, min, max} summary, or null when the
 * run did not measure it): met when the median reaches the goal; the gap is how much faster
 * simdnet must get (goal ÷ median), or by how much it clears the goal.
 */
export function ratioRow(t, ratio) {
  const base = { key: t.key, target: t.target, goal: `×${t.goal}` };
  if (!ratio) return { ...base, measured: null, met: null, gap: NOT_MEASURED };
  const m = ratio.median;
  const met = m >= t.goal;
  const gap = met ? `clears it by ×${(m / t.goal).toFixed(2)}`
    : `${((1 - m / t.goal) * 100).toFixed(0)}% short: simdnet needs ×${(t.goal / m).toFixed(2)} its speed`;
  return { ...base, measured: ratio, shown: `×${m.toFixed(2)} [${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}]`, met, gap };
}

/**
 * The zoo target's row from zooTarget's counts per pass ({ forward, inputGrad, weightGrad }, each
 * { cases, atLeast70, lowest, median }), or null when the zoo did not run: met when every pass
 * counted reaches the percentage; the gap names how many do not and the lowest.
 */
export function zooRow(t, counts) {
  const base = { key: t.key, target: t.target, goal: `${ZOO_PEAK_PERCENT}% of the peak, every pass` };
  const passes = counts ? Object.values(counts) : [];
  const cases = passes.reduce((n, p) => n + p.cases, 0);
  if (!cases) return { ...base, measured: null, met: null, gap: NOT_MEASURED };
  const at = passes.reduce((n, p) => n + p.atLeast70, 0);
  const lowest = Math.min(...passes.filter((p) => p.cases).map((p) => p.lowest));
  const names = { forward: 'fwd', inputGrad: 'dX', weightGrad: 'dW' };
  const shown = `${at} of ${cases} passes (${Object.entries(counts).map(([k, p]) => `${names[k] ?? k} ${p.atLeast70}/${p.cases}`).join(', ')})`;
  const met = at === cases;
  const gap = met ? `lowest ${lowest.toFixed(0)}%` : `${cases - at} pass${cases - at === 1 ? '' : 'es'} below ${ZOO_PEAK_PERCENT}%; lowest ${lowest.toFixed(0)}%`;
  return { ...base, measured: { passes: cases, atLeast: at, lowestPercent: lowest }, shown, met, gap };
}

/**
 * Where a network's step loses most against PyTorch's: the kinds of module (kindRows: layer
 * type, convolutions by kernel and stride) with rows on both sides whose simdnet ms per step
 * exceed PyTorch's the most, from both per-module profiles at `batch`: [{ kind, simdnetMs, pytorchMs }], at most `count`,
 * or null without both profiles at that batch.
 */
export function largestExcess(n, batch, count = 2) {
  const mine = n?.simdnet?.profile, theirs = n?.pytorch?.profile;
  if (!mine?.rows || !theirs?.rows || mine.batch !== batch || theirs.batch !== batch) return null;
  const ms = (side) => (side ? side.forwardMs + side.backwardMs : 0);
  // Kinds with rows on both sides only: PyTorch's functional ops (F.relu, +) are in no module row.
  return kindRows(mine, theirs).filter((g) => g.simdnet && g.pytorch)
    .map((g) => ({ kind: g.kind, simdnetMs: ms(g.simdnet), pytorchMs: ms(g.pytorch) }))
    .filter((g) => g.simdnetMs > g.pytorchMs)
    .sort((a, b) => (b.simdnetMs - b.pytorchMs) - (a.simdnetMs - a.pytorchMs))
    .slice(0, count);
}

/**
 * Every target's row for the result `r` of a harness run: [{ key, target, goal, measured,
 * shown, met (true, false, or null when not measured), gap, excess }]. A network target not met
 * names in `excess` the kinds of module that lose most against PyTorch (largestExcess).
 */
export function targetsTable(r) {
  return TARGETS.map((t) => {
    if (t.zoo) return zooRow(t, r.zoo && r.peakLoop ? zooTarget(r.zoo, { direct: t.direct === true }) : null);
    // Paired rounds (bench/paired.js) where the run has them, else the sections' figures.
    const paired = t.paired ? r.paired?.[t.paired]?.train : null;
    const q = (t.ratios(r) ?? []).find((x) => x.batch === t.batch);
    const row = ratioRow(t, paired ?? q?.train ?? null);
    const excess = row.met === false && t.net ? largestExcess(r.nets?.[t.net], t.batch) : null;
    return excess?.length ? { ...row, excess } : row;
  });
}
