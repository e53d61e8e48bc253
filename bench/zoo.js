// The convolution shape zoo (--zoo): every convolution of the networks in ZOO_NETS, one layer at a
// time, forward, input gradient and weight gradient, in ms, GFLOP/s and % of the wasm peak
// measured in the same run. The shapes are read off the built networks by a shape-only pass.
import * as sn from 'simdnet';
import { Block, f32, rt } from 'simdnet/internal';
import { ZOO_NETS } from './nets.js';
import { measureRounds, summarize } from './stats.js';

/**
 * The convolutions of ZOO_NETS[key] in the order they run, each with the input shape it sees:
 * [{ path, C, H, W, config }] where config is Conv2d's config() (channels, kernel, stride,
 * padding, dilation, groups, bias). Found by wrapping each Conv2d's outputShape for one
 * shape-only pass of the network in eval mode at batch 1 (no kernel runs).
 */
export function convShapesOf(key) {
  const net = ZOO_NETS[key];
  const model = net.build();
  try {
    const seen = [];
    for (const [path, m] of model.namedModules()) {
      if (!(m instanceof sn.Conv2d)) continue;
      const outputShape = m.outputShape.bind(m);
      m.outputShape = (s) => {
        if (!seen.some((c) => c.path === path)) seen.push({ path, C: s[1], H: s[2], W: s[3], config: m.config() });
        return outputShape(s);
      };
    }
    model.eval().outputShape([1, ...net.input]);
    return seen;
  } finally {
    model.dispose();
  }
}

/** A shape's name: '3×3 16→32 s2 p1 @32×32', '3×3 dw 96 s2 p1 @16×16' (depthwise: groups = channels), '1×1 24→144 @8×8'. */
export function shapeLabel({ C, H, W, config: c }) {
  const [kh, kw] = c.kernelSize;
  const pair = (p) => (p[0] === p[1] ? `${p[0]}` : p.join('×'));
  const channels = c.groups > 1 && c.groups === C && c.outChannels === C ? `dw ${C}`
    : `${C}→${c.outChannels}${c.groups > 1 ? ` g${c.groups}` : ''}`;
  const stride = pair(c.stride) === '1' ? '' : ` s${pair(c.stride)}`;
  const padding = typeof c.padding === 'string' ? ` ${c.padding}` : pair(c.padding) === '0' ? '' : ` p${pair(c.padding)}`;
  const dilation = pair(c.dilation) === '1' ? '' : ` d${pair(c.dilation)}`;
  return `${kh}×${kw} ${channels}${stride}${padding}${dilation} @${H}×${W}`;
}

/**
 * The distinct convolution shapes of the networks `keys`, in order of first appearance:
 * [{ id, label, net (the first network's key), C, H, W, config, uses: { key: count } }]. Two
 * convolutions are the same shape when input size and config (bias included) are equal.
 */
export function zooShapes(keys) {
  const shapes = new Map();
  for (const key of keys) {
    for (const s of convShapesOf(key)) {
      const id = JSON.stringify([s.C, s.H, s.W, s.config]);
      if (!shapes.has(id)) shapes.set(id, { id: `s${shapes.size + 1}`, label: shapeLabel(s), net: key, C: s.C, H: s.H, W: s.W, config: s.config, uses: {} });
      const uses = shapes.get(id).uses;
      uses[key] = (uses[key] ?? 0) + 1;
    }
  }
  return [...shapes.values()];
}

/** Output height and width of a shape (PyTorch's formula; the nets' paddings are numbers). */
export function outputSize({ H, W, config: c }) {
  const [ph, pw] = typeof c.padding === 'string' ? [0, 0] : c.padding;
  const out = (n, k, s, p, d) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
  return [out(H, c.kernelSize[0], c.stride[0], ph, c.dilation[0]), out(W, c.kernelSize[1], c.stride[1], pw, c.dilation[1])];
}

/**
 * Multiply-adds × 2 of one pass of a direct convolution at `batch`: 2·N·C_out·H_out·W_out·(C_in/groups)·kH·kW.
 * The forward, the input gradient and the weight gradient each take this many (bias terms left out).
 */
export function convFlops(shape, batch) {
  const [OH, OW] = outputSize(shape);
  const c = shape.config;
  return 2 * batch * c.outChannels * OH * OW * (shape.C / c.groups) * c.kernelSize[0] * c.kernelSize[1];
}

/** Whether Winograd F(2×2,3×3) and F(4×4,3×3) can run a shape (3×3, stride 1, dilation 1, groups 1), chosen or not. */
export function winogradEligible({ config: c }) {
  return c.kernelSize.join() === '3,3' && c.stride.join() === '1,1' && c.dilation.join() === '1,1' && c.groups === 1;
}

/**
 * The algorithm names of Conv2d.algorithm() whose forward and input gradient run Winograd, with
 * their output tile m of F(m×m,3×3) (of F(m×m,5×5) for 'winograd-f2x2-5x5' and 'winograd-f4x4-5x5').
 */
export const WINOGRAD_ALGORITHMS = { 'winograd-f2x2': 2, 'winograd-f4x4': 4, 'winograd-f2x2-5x5': 2, 'winograd-f4x4-5x5': 4 };

/**
 * The Winograd kernels the zoo times on every shape they can run, beside the layer's own path:
 * the raw exports of each tile size F(m×m,3×3) (key: its algorithm name).
 */
export const WINOGRAD_KERNELS = {
  'winograd-f2x2': { m: 2, forward: 'winogradForward', inputGrad: 'winogradInputGrad', scratch: 'winogradScratchFloats', weightGrad: 'winogradWeightGrad', weightGradScratch: 'winogradWeightGradScratchFloats' },
  'winograd-f4x4': { m: 4, forward: 'winogradF4x4Forward', inputGrad: 'winogradF4x4InputGrad', scratch: 'winogradF4x4ScratchFloats', weightGrad: 'winogradF4x4WeightGrad', weightGradScratch: 'winogradF4x4WeightGradScratchFloats' },
};

/**
 * FLOPs Winograd F(m×m,r×r) (r the shape's kernel size) executes in its (m + r − 1)² GEMMs for one
 * pass (forward or input gradient) at `batch`: 2·(m + r − 1)²·C_in·C_out per m×m output tile (the
 * transforms are not counted). The forward tiles the output, the input gradient the input. m: 2
 * unless given.
 */
export function winogradFlops(shape, batch, pass, m = 2) {
  const [OH, OW] = outputSize(shape);
  const [h, w] = pass === 'inputGrad' ? [shape.H, shape.W] : [OH, OW];
  return 2 * (m + shape.config.kernelSize[0] - 1) ** 2 * shape.C * shape.config.outChannels * batch * Math.ceil(h / m) * Math.ceil(w / m);
}

/**
 * % of `peakGflops` of a case's passes on the FLOPs they execute: the direct convolution's, or
 * Winograd's GEMM FLOPs for the passes the algorithm runs by Winograd (so no figure reads above 100%
 * because the algorithm needs fewer multiplies): forward and input gradient by F(m×m,3×3), m =
 * `run.winogradTile` (2 unless given), the weight gradient with `run.weightGradTile`'s tiles (2 unless given).
 * `run` is simdnetCase's result or one of its Winograd timings.
 */
export function percentOfPeak(run, shape, batch, peakGflops) {
  const flops = convFlops(shape, batch);
  const wino = run.winogradPasses ?? [];
  const executed = (k) => (!wino.includes(k) ? flops : winogradFlops(shape, batch, k, k === 'weightGrad' ? run.weightGradTile ?? 2 : run.winogradTile ?? 2));
  const out = {};
  for (const [k, g] of Object.entries(run.gflops)) {
    const done = k === 'backward' ? executed('weightGrad') + executed('inputGrad') : executed(k);
    const base = k === 'backward' ? 2 * flops : flops;
    out[k] = g ? (100 * g.median * (done / base)) / peakGflops : null;
  }
  return out;
}

/** Under --quick, batch 64 of a shape whose forward is above this many FLOPs is left out. */
export const QUICK_TRIM_FLOPS = 1e9;

/** The (shape, batch) cases to run: every batch of every shape, less the trimmed ones under --quick. */
export function zooCases(shapes, batches, { quick = false } = {}) {
  const cases = [];
  for (const shape of shapes) {
    for (const batch of batches) {
      const trimmed = quick && batch >= 64 && convFlops(shape, batch) > QUICK_TRIM_FLOPS;
      cases.push({ shape: shape.id, batch, flops: convFlops(shape, batch), ...(trimmed ? { trimmed: true } : {}) });
    }
  }
  return cases;
}

function deviceTensor(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const block = new Block(n * 4);
  const view = f32(block.ptr, n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; view[i] = s / 2 ** 32 - 0.5; }
  return { tensor: new sn.Tensor(shape, block), block };
}

/**
 * simdnet's times for one case: a Conv2d built from the shape's config, run on device tensors
 * as the layer runs inside a network (forwardDevice, backwardDevice). The kernel computes the
 * weight gradient in every backward, so the input gradient's time is the backward with it less
 * the backward without it, per sample. On the shapes the layer runs by Winograd the direct
 * kernels are timed beside it, and on every 3×3 stride-1 shape the raw kernels of both Winograd
 * tiles: all of a case's calls in the same rounds (measureRounds), so the layer ÷ kernel ratios
 * compare times taken under the same load. Returns ms summaries { forward, inputGrad,
 * weightGrad, backward } and GFLOP/s of each (null where the difference came out at zero or
 * below: noise on a shape whose input gradient costs little).
 */
export function simdnetCase(shape, batch, { quick = false } = {}) {
  const c = shape.config;
  const layer = new sn.Conv2d(shape.C, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias });
  const inputShape = [batch, shape.C, shape.H, shape.W];
  const x = deviceTensor(inputShape, 11);
  let dy = null;
  const parts = [];
  try {
    const algorithm = layer.algorithm(inputShape);
    const y = layer.forwardDevice(x.tensor);
    dy = deviceTensor(y.shape, 12);
    const timing = quick ? { warmup: 1, samples: 3, minMs: 10 } : { warmup: 2, samples: 7, minMs: 50 };
    const winogradTile = WINOGRAD_ALGORITHMS[algorithm];
    const weightGradTile = layer.weightGradTile(inputShape);
    const winogradPasses = [...(winogradTile ? ['forward', 'inputGrad'] : []), ...(weightGradTile ? ['weightGrad'] : [])];
    const fns = {
      forward: () => layer.forwardDevice(x.tensor),
      backward: () => layer.backwardDevice(dy.tensor, true), noInputGrad: () => layer.backwardDevice(dy.tensor, false),
    };
    if (winogradPasses.length) parts.push(['direct', directCalls(shape, batch, layer, x, dy, y.shape)]);
    if (winogradEligible(shape)) {
      parts.push(['winograd', winogradCalls(shape, batch, layer, x, dy, y.shape, WINOGRAD_KERNELS['winograd-f2x2'])]);
      parts.push(['winogradF4x4', winogradCalls(shape, batch, layer, x, dy, y.shape, WINOGRAD_KERNELS['winograd-f4x4'])]);
    }
    for (const [key, part] of parts) for (const [n, fn] of Object.entries(part.fns)) fns[`${key}.${n}`] = fn;
    const t = measureRounds(fns, timing);
    const flops = convFlops(shape, batch);
    const ms = { forward: summary(t.forward), inputGrad: difference(t.backward, t.noInputGrad), weightGrad: summary(t.noInputGrad), backward: summary(t.backward) };
    const gflops = { forward: rate(ms.forward, flops), inputGrad: rate(ms.inputGrad, flops), weightGrad: rate(ms.weightGrad, flops), backward: rate(ms.backward, 2 * flops) };
    const out = { algorithm, winogradPasses, ...(winogradTile ? { winogradTile } : {}), ...(weightGradTile ? { weightGradTile } : {}), ms, gflops };
    for (const [key, part] of parts) out[key] = part.result((n) => t[`${key}.${n}`], flops);
    return out;
  } finally {
    for (const [, part] of parts) part.free();
    x.block.free();
    dy?.block.free();
    layer.dispose();
  }
}

/** Blocks allocated with `block(bytes)` and freed together by `free()`. */
function blockSet() {
  const blocks = [];
  return { block: (bytes) => { const b = new Block(bytes); blocks.push(b); return b; }, free: () => blocks.forEach((b) => b.free()) };
}

/** A measureRounds entry without its per-sample times: the summary the results keep. */
const summary = ({ times, reps, ...s }) => ({ ...s, reps });

/** The summary of `a` less `b` sample by sample (two entries of the same rounds). */
const difference = (a, b) => summarize(a.times.map((v, i) => v - b.times[i]));

/** GFLOP/s summary of a ms summary for `f` FLOPs (null where the time came out at zero or below). */
const rate = (t, f) => (t.median > 0 ? { median: f / (t.median * 1e6), min: t.max > 0 ? f / (t.max * 1e6) : null, max: t.min > 0 ? f / (t.min * 1e6) : null } : null);

/** The zeros before the image of a shape's config: 'same' with a 3×3 kernel pads 1 each side, 'valid' none. */
function paddingBefore(c) {
  return c.padding === 'same' ? [1, 1] : c.padding === 'valid' ? [0, 0] : typeof c.padding === 'number' ? [c.padding, c.padding] : c.padding;
}

/**
 * The direct flat path (the raw kernel exports) on a shape whose layer runs Winograd, for
 * simdnetCase's rounds: { fns (forward, backward with dX, backward without), result(get, flops)
 * (forward, dX and dW ms and GFLOP/s as the layer's are worked out, dX the backward with it less
 * the backward without it), free() }, so the direct kernels' share of the peak is known on every shape.
 */
function directCalls(shape, batch, layer, x, dy, outShape) {
  const c = shape.config, k = rt().kernels, [OH, OW] = outShape.slice(2);
  const [ph, pw] = paddingBefore(c);
  const [kh, kw] = c.kernelSize, [dh, dw] = c.dilation ?? [1, 1];
  const args = [batch, shape.C, shape.H, shape.W, c.outChannels, kh, kw, ph, pw, dh, dw, c.groups, OH, OW];
  const { block, free } = blockSet();
  try {
    const scratch = block(k.flatScratchFloats(shape.C, shape.H, shape.W, c.outChannels, kh, kw, ph, pw, dh, dw, c.groups, OH, OW) * 4);
    const y = block(outShape.reduce((a, b) => a * b, 1) * 4), dx = block(batch * shape.C * shape.H * shape.W * 4);
    const dW = block(layer.weight.size * 4), db = layer.bias ? block(layer.bias.size * 4) : null;
    const w = layer.weight.data.ptr, b = layer.bias ? layer.bias.data.ptr : 0;
    const backward = (withDx) => k.flatBackward(x.tensor.ptr, w, dy.tensor.ptr, dW.ptr, db ? db.ptr : 0, withDx ? dx.ptr : 0, ...args, scratch.ptr);
    const fns = { forward: () => k.flatForward(x.tensor.ptr, w, b, y.ptr, ...args, scratch.ptr, 0), backward: () => backward(true), noInputGrad: () => backward(false) };
    const result = (get, flops) => {
      const ms = { forward: summary(get('forward')), inputGrad: difference(get('backward'), get('noInputGrad')), weightGrad: summary(get('noInputGrad')) };
      return { winogradPasses: [], ms, gflops: { forward: rate(ms.forward, flops), inputGrad: rate(ms.inputGrad, flops), weightGrad: rate(ms.weightGrad, flops) } };
    };
    return { fns, result, free };
  } catch (err) {
    free();
    throw err;
  }
}

/**
 * One Winograd tile size's kernels (a WINOGRAD_KERNELS entry) on a shape whatever conv2dAlgorithm's
 * table says (the raw kernel exports, as the layer calls them), for simdnetCase's rounds: { fns,
 * result(get, flops) (forward, input and weight gradient ms and direct-equivalent GFLOP/s), free() },
 * beside the layer's own path in the same rounds — the measurements the table is filled from.
 */
function winogradCalls(shape, batch, layer, x, dy, outShape, kernels) {
  const c = shape.config, k = rt().kernels, [OH, OW] = outShape.slice(2);
  const [ph, pw] = paddingBefore(c);
  const args = [batch, shape.C, shape.H, shape.W, c.outChannels, ph, pw, OH, OW];
  const { block, free } = blockSet();
  try {
    const scratch = block(k[kernels.scratch](batch, shape.C, shape.H, shape.W, c.outChannels, OH, OW) * 4);
    const y = block(outShape.reduce((a, b) => a * b, 1) * 4), dx = block(batch * shape.C * shape.H * shape.W * 4);
    const dwScratch = block(k[kernels.weightGradScratch](batch, shape.C, c.outChannels, OH, OW) * 4);
    const dw = block(layer.weight.size * 4);
    const w = layer.weight.data.ptr, b = layer.bias ? layer.bias.data.ptr : 0;
    const fns = {
      forward: () => k[kernels.forward](x.tensor.ptr, w, b, y.ptr, ...args, scratch.ptr),
      inputGrad: () => k[kernels.inputGrad](w, dy.tensor.ptr, dx.ptr, ...args, scratch.ptr),
      weightGrad: () => k[kernels.weightGrad](x.tensor.ptr, dy.tensor.ptr, dw.ptr, ...args, dwScratch.ptr),
    };
    const result = (get, flops) => {
      const ms = { forward: summary(get('forward')), inputGrad: summary(get('inputGrad')), weightGrad: summary(get('weightGrad')) };
      const gflops = { forward: rate(ms.forward, flops), inputGrad: rate(ms.inputGrad, flops), weightGrad: rate(ms.weightGrad, flops) };
      return { winogradPasses: ['forward', 'inputGrad', 'weightGrad'], winogradTile: kernels.m, weightGradTile: kernels.m, ms, gflops };
    };
    return { fns, result, free };
  } catch (err) {
    free();
    throw err;
  }
}
