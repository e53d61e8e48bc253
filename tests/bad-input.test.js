// Bad input at every public entry point: each row makes one call that must throw an Error whose
// message names the place, the option or argument and what was wrong, and leaves the model,
// its gradients and mode, the optimizer's state and the schedulers exactly as they were (bit
// for bit). The model has taken a training step (so Adam has moments and BatchNorm running
// statistics) and holds accumulated gradients, so any write would show.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

await sn.ready();
const { data, init, plot, io } = sn;

// ---- the fixture and its state ----

function fixture() {
  sn.manualSeed(7);
  const model = new sn.Sequential(
    new sn.Conv2d(1, 2, 3, { padding: 1 }), new sn.BatchNorm2d(2), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(8, 3));
  const optimizer = new sn.Adam(model.parameters(), { lr: 1e-2, amsgrad: true });
  const scheduler = new sn.StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  const x = sn.tensor(Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i)), [4, 1, 4, 4]);
  const y = Int32Array.from([0, 1, 2, 1]);
  const ce = new sn.CrossEntropyLoss();
  ce.forward(model.forward(x), y).backward();
  optimizer.step();
  scheduler.step();
  // Left accumulated: a refused call must not zero (or add to) them either.
  ce.forward(model.forward(x), y).backward();
  // Eval mode: a refused call must not leave the model in training mode.
  model.eval();
  const f = { model, optimizer, schedulers: [scheduler], scheduler, x, y, ce };
  f.dispose = () => { model.dispose(); optimizer.dispose(); ce.dispose(); f.other?.dispose(); };
  return f;
}

/** A second model, for optimizers and files that belong to another one. */
function otherModel(f) {
  f.other = new sn.Sequential(new sn.Linear(8, 3));
  return f.other;
}

const bits = (values) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

function modules(m) { return [m, ...m.children().flatMap(([, c]) => modules(c))]; }

/** Everything a refused call must leave alone, as exact bit patterns. */
function snapshot(f) {
  return {
    state: Object.entries(f.model.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? Array.from(t.toInt64Array(), String) : bits(t.toArray())]),
    grads: f.model.parameters().map((p) => bits(p.grad.toArray())),
    training: modules(f.model).map((m) => m.training),
    optimizer: { state: f.optimizer.stateViews().map(bits), steps: f.optimizer.stepCount, lr: f.optimizer.lr },
    schedulers: f.schedulers.map((s) => ({ lastEpoch: s.lastEpoch, lr: s.getLastLr(), optimizerLr: s.optimizer.lr })),
  };
}

// ---- helpers for the rows ----

const t = (shape, fill = (i) => (i % 5) / 5) => sn.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)), shape);
const logits = () => t([2, 3]);
const w = (f) => f.model.at(0).weight;
const silent = { verbose: 0 };
const CONV = 'Conv2d\\(1, 2, kernel_size=\\(3, 3\\), stride=\\(1, 1\\), padding=\\(1, 1\\)\\)';
const csvHeader = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');

/**
 * [name, call, expected message]; `prepare` (optional, fourth) runs before the snapshot, for
 * rows that need a state to start from.
 */
const rows = [
  // ---- layer constructors ----
  ['Linear bias as a string', () => new sn.Linear(3, 2, { bias: 'no' }), /^Linear: bias must be a boolean \(true or false\), got the string 'no'$/],
  ['Linear bias as a number', () => new sn.Linear(3, 2, { bias: 1 }), /^Linear: bias must be a boolean \(true or false\), got 1$/],
  ['Linear misspelt option', () => new sn.Linear(3, 2, { bais: false }), /^Linear: unknown option 'bais'; did you mean 'bias'\? \(the options are bias\)$/],
  ['Linear options a string', () => new sn.Linear(3, 2, 'no'), /^Linear: options must be an object \{ bias\? \}, got the string 'no'$/],
  ['Linear options null', () => new sn.Linear(3, 2, null), /^Linear: options must be an object \{ bias\? \}, got null$/],
  ['Linear in_features a string', () => new sn.Linear('3', 2), /^Linear: in_features must be a positive integer, got the string '3'$/],
  ['Linear out_features fractional', () => new sn.Linear(3, 2.5), /^Linear: out_features must be a positive integer, got 2\.5$/],
  ['Linear in_features a Tensor', () => new sn.Linear(t([3]), 2), /^Linear: in_features must be a positive integer, got a float32 Tensor of shape \[3\]$/],
  ['Conv2d bias as a string', () => new sn.Conv2d(1, 2, 3, { bias: 'false' }), /^Conv2d: bias must be a boolean \(true or false\), got the string 'false'$/],
  ['Conv2d unknown padding mode', () => new sn.Conv2d(1, 2, 3, { padding: 'full' }), /^Conv2d: padding must be a number, a pair, 'valid' or 'same', got the string 'full'$/],
  ['Conv2d stride of three', () => new sn.Conv2d(1, 2, 3, { stride: [1, 2, 3] }), /^Conv2d: stride must be a positive integer or a pair \[h, w\] of them, got an Array of 3 numbers$/],
  ['Conv2d misspelt option', () => new sn.Conv2d(1, 2, 3, { stides: 2 }), /^Conv2d: unknown option 'stides'; did you mean 'stride'\?/],
  ['Conv2d groups not dividing', () => new sn.Conv2d(4, 2, 3, { groups: 3 }), /^Conv2d: in_channels \(4\) must be divisible by groups \(3\)$/],
  ['Conv2d groups a string', () => new sn.Conv2d(1, 2, 3, { groups: '1' }), /^Conv2d: groups must be a positive integer, got the string '1'$/],
  ['Conv2d same padding with stride', () => new sn.Conv2d(1, 2, 3, { padding: 'same', stride: 2 }), /^Conv2d: padding='same' is not supported for strided convolutions, got stride=\(2, 2\)$/],
  ['Conv2d kernel 0', () => new sn.Conv2d(1, 2, 0), /^Conv2d: kernel_size must be a positive integer or a pair \[h, w\] of them, got 0$/],
  ['Conv2d PyTorch option name', () => new sn.Conv2d(1, 2, 3, { padding_mode: 'zeros' }), /^Conv2d: unknown option 'padding_mode' \(the options are stride, padding, dilation, groups, bias\)$/],
  ['MaxPool2d ceilMode a string', () => new sn.MaxPool2d(2, { ceilMode: 'yes' }), /^MaxPool2d: ceilMode must be a boolean \(true or false\), got the string 'yes'$/],
  ['MaxPool2d snake_case option', () => new sn.MaxPool2d(2, { ceil_mode: true }), /^MaxPool2d: unknown option 'ceil_mode'; did you mean 'ceilMode'\?/],
  ['MaxPool2d kernel null', () => new sn.MaxPool2d(null), /^MaxPool2d: kernel_size must be a positive integer or a pair \[h, w\] of them, got null$/],
  ['MaxPool2d padding over half', () => new sn.MaxPool2d(3, { padding: 2 }), /^MaxPool2d: padding must be at most half of kernel_size, got padding=\(2, 2\) and kernel_size=\(3, 3\)$/],
  ['AvgPool2d countIncludePad a number', () => new sn.AvgPool2d(2, { countIncludePad: 0 }), /^AvgPool2d: countIncludePad must be a boolean \(true or false\), got 0$/],
  ['AvgPool2d divisorOverride 0', () => new sn.AvgPool2d(2, { divisorOverride: 0 }), /^AvgPool2d: divisorOverride must be a positive integer up to 2147483647, got 0$/],
  ['AvgPool2d snake_case option', () => new sn.AvgPool2d(2, { count_include_pad: false }), /^AvgPool2d: unknown option 'count_include_pad'; did you mean 'countIncludePad'\?/],
  ['AdaptiveAvgPool2d one size', () => new sn.AdaptiveAvgPool2d([2]), /^AdaptiveAvgPool2d: output_size must be a positive integer or a pair \[h, w\] of them, got an Array of 1 number$/],
  ['AdaptiveAvgPool2d a string', () => new sn.AdaptiveAvgPool2d('1'), /^AdaptiveAvgPool2d: output_size .* got the string '1'$/],
  ['Flatten start_dim a string', () => new sn.Flatten('1'), /^Flatten: start_dim and end_dim must be integers, got the string '1' and -1$/],
  ['LeakyReLU slope a string', () => new sn.LeakyReLU('0.2'), /^LeakyReLU: negative_slope must be a finite number, got the string '0\.2'$/],
  ['LeakyReLU options object', () => new sn.LeakyReLU({ negativeSlope: 0.2 }), /^LeakyReLU: negative_slope must be a finite number, got an object with key negativeSlope$/],
  ['Softmax dim fractional', () => new sn.Softmax(1.5), /^Softmax: dim must be an integer, got 1\.5$/],
  ['LogSoftmax dim a string', () => new sn.LogSoftmax('1'), /^LogSoftmax: dim must be an integer, got the string '1'$/],
  ['Dropout p above 1', () => new sn.Dropout(1.5), /^Dropout: p must be a probability between 0 and 1, got 1\.5$/],
  ['Dropout p a string', () => new sn.Dropout('0.5'), /^Dropout: p must be a probability between 0 and 1, got the string '0\.5'$/],
  ['Dropout2d p negative', () => new sn.Dropout2d(-0.1), /^Dropout2d: p must be a probability between 0 and 1, got -0\.1$/],
  ['Dropout2d p null', () => new sn.Dropout2d(null), /^Dropout2d: p must be a probability between 0 and 1, got null$/],
  ['ELU alpha a string', () => new sn.ELU('1'), /^ELU: alpha must be a finite number, got the string '1'$/],
  ['ELU alpha infinite', () => new sn.ELU(-Infinity), /^ELU: alpha must be a finite number, got -Infinity$/],
  ['ELU options object', () => new sn.ELU({ alpha: 0.5 }), /^ELU: alpha must be a finite number, got an object with key alpha$/],
  ['GELU approximate unknown', () => new sn.GELU({ approximate: 'erf' }), /^GELU: approximate must be 'none' or 'tanh', got the string 'erf'$/],
  ['GELU approximate as a bare string', () => new sn.GELU('tanh'), /^GELU: options must be an object \{ approximate\? \}, got the string 'tanh'$/],
  ['GELU approximate true', () => new sn.GELU({ approximate: true }), /^GELU: approximate must be 'none' or 'tanh', got true$/],
  ['GELU misspelt option', () => new sn.GELU({ aproximate: 'tanh' }), /^GELU: unknown option 'aproximate'; did you mean 'approximate'\?/],
  ['BatchNorm2d affine a string', () => new sn.BatchNorm2d(2, { affine: 'false' }), /^BatchNorm2d: affine must be a boolean \(true or false\), got the string 'false'$/],
  ['BatchNorm1d trackRunningStats a string', () => new sn.BatchNorm1d(2, { trackRunningStats: 'no' }), /^BatchNorm1d: trackRunningStats must be a boolean \(true or false\), got the string 'no'$/],
  ['BatchNorm1d momentum 2', () => new sn.BatchNorm1d(2, { momentum: 2 }), /^BatchNorm1d: momentum must be a number between 0 and 1 or null, got 2$/],
  ['BatchNorm2d eps negative', () => new sn.BatchNorm2d(2, { eps: -1 }), /^BatchNorm2d: eps must be a finite number ≥ 0, got -1$/],
  ['BatchNorm2d snake_case option', () => new sn.BatchNorm2d(2, { track_running_stats: false }), /^BatchNorm2d: unknown option 'track_running_stats'; did you mean 'trackRunningStats'\?/],
  ['BatchNorm2d num_features 0', () => new sn.BatchNorm2d(0), /^BatchNorm2d: num_features must be a positive integer, got 0$/],
  ['Sequential of a number', () => new sn.Sequential(5), /^Sequential\.add: expected a layer \(Module\), got 5$/],
  ['Sequential of a class', () => new sn.Sequential(sn.ReLU), /^Sequential\.add: expected a layer \(Module\), got the class ReLU \(a constructor, not an instance: a missing new\?\)$/],
  ['train with a string mode', (f) => f.model.train('false'), /^Sequential \(6 layers\): train\(mode\) takes true or false, got the string 'false'$/],
  ['train of one layer with a number', (f) => f.model.at(1).train(0), /^BatchNorm2d\(2, .*\): train\(mode\) takes true or false, got 0$/],
  ['Sequential.add a layer already in it', (f) => f.model.add(f.model.at(0)), /^Sequential\.add: Conv2d\(1, 2, .*\) is already in this model/],

  // ---- forward and backward ----
  ['forward: wrong channel count', (f) => f.model.forward(t([2, 3, 4, 4])), new RegExp(`^layer 0 \\(${CONV}\\): expected input of shape \\[N, 1, H, W\\], got \\[2, 3, 4, 4\\]$`)],
  ['forward: empty batch', (f) => f.model.forward(t([0, 1, 4, 4])), new RegExp(`^layer 0 \\(${CONV}\\): the batch is empty \\(input of shape \\[0, 1, 4, 4\\]\\); expected at least one sample$`)],
  ['forward: empty batch in training mode', (f) => f.model.forward(t([0, 1, 4, 4])), /the batch is empty/, (f) => f.model.train()],
  ['forward: rank 3', (f) => f.model.forward(t([1, 4, 4])), /^layer 0 \(Conv2d\(.*\)\): expected input of shape \[N, 1, H, W\], got \[1, 4, 4\]$/],
  ['forward: NaN input', (f) => f.model.forward(t([2, 1, 4, 4], (i) => (i === 5 ? NaN : 0))), /^Sequential \(6 layers\) input: 1 of 32 values are NaN or infinite$/],
  ['forward: infinite input in training mode', (f) => f.model.forward(t([2, 1, 4, 4], (i) => (i === 0 ? -Infinity : 1))), /^Sequential \(6 layers\) input: 1 of 32 values are NaN or infinite$/, (f) => f.model.train()],
  ['forward: int64 input', (f) => f.model.forward(new sn.Tensor([2, 1, 4, 4], new BigInt64Array(32))), /^Sequential \(6 layers\) input: expected a float32 tensor, got int64$/],
  ['forward: too small for the pooling', (f) => f.model.forward(t([2, 1, 1, 1])), /^layer 3 \(MaxPool2d\(.*\)\): expected an input at least as large as the dilated kernel after padding, got \[2, 2, 1, 1\]/],
  ['forward: BatchNorm training batch of one value per channel', (f) => f.model.forward(t([1, 1, 1, 1])), /^layer 1 \(BatchNorm2d\(2, .*\)\): expected more than 1 value per channel when training, got input of shape \[1, 2, 1, 1\]$/, (f) => f.model.train()],
  ['forward: Linear wrong features', (f) => f.model.at(5).forward(t([2, 7])), /^Linear\(in_features=8, out_features=3, bias=True\): expected input of shape \[\*, 8\], got \[2, 7\]$/],
  ['forward: Softmax dim out of range', () => new sn.Softmax(3).forward(t([2, 3])), /^Softmax\(dim=3\): dim 3 is out of range for an input of shape \[2, 3\]$/],
  ['forward: Flatten dims out of range', () => new sn.Flatten(2, 5).forward(t([2, 3])), /^Flatten\(start_dim=2, end_dim=5\): cannot flatten dimensions 2\.\.5 of an input of shape \[2, 3\]$/],
  ['forward: Dropout2d of a rank-3 input', () => new sn.Dropout2d().forward(t([3, 4, 5])), /^Dropout2d\(p=0\.5, inplace=False\): expected input of shape \[N, C, H, W\], got \[3, 4, 5\]$/],
  ['forward: Dropout2d in eval of a rank-2 input', () => new sn.Dropout2d(0.2).eval().forward(t([2, 3])), /^Dropout2d\(p=0\.2, inplace=False\): expected input of shape \[N, C, H, W\], got \[2, 3\]$/],
  ['forward: GELU NaN input', () => new sn.GELU().forward(t([2, 3], (i) => (i === 4 ? NaN : 0))), /^GELU\(approximate='none'\) input: 1 of 6 values are NaN or infinite$/],
  ['forward: Identity of a plain array', () => new sn.Identity().forward([1, 2]), /^Identity\(\): the input of forward\(\) must be a Tensor, got an Array of 2 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['backward: ReLU6 before any forward', () => new sn.ReLU6().backward(t([1, 2])), /^ReLU6\(\): backward\(\) called before forward\(\)$/],
  ['backward: SiLU gradient of the wrong shape', () => { const l = new sn.SiLU(); l.forward(t([2, 3])); l.backward(t([3, 2])); }, /^SiLU\(\): backward\(\) expected a gradient of shape \[2, 3\], got \[3, 2\]$/],
  ['forward: AvgPool2d empty batch', () => new sn.AvgPool2d(2).forward(t([0, 1, 4, 4])), /^AvgPool2d\(kernel_size=2, stride=2, padding=0\): the batch is empty \(input of shape \[0, 1, 4, 4\]\)/],
  ['backward: gradient of the wrong shape', (f) => f.model.backward(t([4, 2])), /^Sequential \(6 layers\): backward\(\) expected a gradient of shape \[4, 3\], got \[4, 2\]$/],
  ['backward: NaN gradient', (f) => f.model.backward(t([4, 3], (i) => (i === 2 ? NaN : 0))), /^Sequential \(6 layers\) output gradient: 1 of 12 values are NaN or infinite$/],
  ['backward: before any forward', () => new sn.Linear(3, 2).backward(t([1, 2])), /^Linear\(in_features=3, out_features=2, bias=True\): backward\(\) called before forward\(\)$/],
  ['forward: a plain array', (f) => f.model.forward([1, 2, 3]), /^Sequential \(6 layers\): the input of forward\(\) must be a Tensor, got an Array of 3 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['forward: null', (f) => f.model.at(5).forward(null), /^Linear\(in_features=8, out_features=3, bias=True\): the input of forward\(\) must be a Tensor, got null$/],
  ['backward: a Float32Array', (f) => { f.model.forward(f.x); f.model.backward(new Float32Array(12)); }, /^Sequential \(6 layers\): the gradient given to backward\(\) must be a Tensor, got a Float32Array of 12 values; wrap it with sn\.tensor\(data, shape\)$/],

  // ---- losses ----
  ['CrossEntropyLoss reduction none', () => new sn.CrossEntropyLoss({ reduction: 'none' }), /^CrossEntropyLoss: reduction must be 'mean' or 'sum', got the string 'none'$/],
  ['CrossEntropyLoss snake_case option', () => new sn.CrossEntropyLoss({ label_smoothing: 0.1 }), /^CrossEntropyLoss: unknown option 'label_smoothing'; did you mean 'labelSmoothing'\?/],
  ['CrossEntropyLoss ignoreIndex fractional', () => new sn.CrossEntropyLoss({ ignoreIndex: 0.5 }), /^CrossEntropyLoss: ignoreIndex must be a 32-bit integer, got 0\.5$/],
  ['CrossEntropyLoss labelSmoothing a string', () => new sn.CrossEntropyLoss({ labelSmoothing: '0.1' }), /^CrossEntropyLoss: labelSmoothing must be between 0 and 1, got the string '0\.1'$/],
  ['CrossEntropyLoss label out of range', (f) => f.ce.forward(f.model.forward(f.x), [0, 5, 1, 1]), /^CrossEntropyLoss: label at index 1 is 5, expected an integer class index in \[0, 3\)$/],
  ['CrossEntropyLoss string labels', (f) => f.ce.forward(f.model.forward(f.x), ['0', '1', '2', '1']), /^CrossEntropyLoss: label at index 0 is the string '0', expected an integer class index in \[0, 3\)$/],
  ['CrossEntropyLoss too few labels', (f) => f.ce.forward(f.model.forward(f.x), [0, 1]), /^CrossEntropyLoss: expected 4 labels for input of shape \[4, 3\], got 2$/],
  ['CrossEntropyLoss int64 label beyond int32', () => new sn.CrossEntropyLoss().forward(logits(), BigInt64Array.of(0n, 5000000000n)), /^CrossEntropyLoss: label at index 1 is the bigint 5000000000n, expected an integer class index in \[0, 3\)$/],
  ['CrossEntropyLoss int64 label out of range', () => new sn.CrossEntropyLoss().forward(logits(), BigInt64Array.of(3n, 0n)), /^CrossEntropyLoss: label at index 0 is the bigint 3n, expected an integer class index in \[0, 3\)$/],
  ['CrossEntropyLoss fractional label', () => new sn.CrossEntropyLoss().forward(logits(), Float32Array.of(1.5, 0)), /^CrossEntropyLoss: label at index 0 is 1\.5/],
  ['CrossEntropyLoss labels a string', () => new sn.CrossEntropyLoss().forward(logits(), '01'), /^CrossEntropyLoss: labels must be an Int32Array, a BigInt64Array, an array of integers or a Tensor, got the string '01'$/],
  ['CrossEntropyLoss NaN logits', () => new sn.CrossEntropyLoss().forward(t([2, 3], (i) => (i === 4 ? NaN : i)), [0, 1]), /^CrossEntropyLoss: 1 of 6 prediction values are NaN or infinite \(shape \[2, 3\]\)$/],
  ['CrossEntropyLoss logits an array', () => new sn.CrossEntropyLoss().forward([1, 2, 3], [0]), /^CrossEntropyLoss: the input \(logits\) must be a Tensor of shape \[N, C\], got an Array of 3 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['CrossEntropyLoss rank-3 logits', () => new sn.CrossEntropyLoss().forward(t([2, 3, 2]), [0, 1]), /^CrossEntropyLoss: expected input of shape \[N, C\], got \[2, 3, 2\]$/],
  ['NLLLoss reduction avg', () => new sn.NLLLoss({ reduction: 'avg' }), /^NLLLoss: reduction must be 'mean' or 'sum', got the string 'avg'$/],
  ['NLLLoss negative label', () => new sn.NLLLoss().forward(logits(), [-1, 0]), /^NLLLoss: label at index 0 is -1, expected an integer class index in \[0, 3\)$/],
  ['MSELoss target shape', (f) => new sn.MSELoss().forward(f.model.forward(f.x), t([4, 2])), /^MSELoss: the target shape \[4, 2\] differs from the input shape \[4, 3\]$/],
  ['MSELoss NaN target', (f) => new sn.MSELoss().forward(f.model.forward(f.x), t([4, 3], (i) => (i ? 0 : NaN))), /^MSELoss: 1 of 12 target values are NaN or infinite \(shape \[4, 3\]\)$/],
  ['MSELoss target an array', () => new sn.MSELoss().forward(t([2]), [1, 2]), /^MSELoss: the target must be a Tensor, got an Array of 2 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['MSELoss unknown option', () => new sn.MSELoss({ reduction: 'mean', weight: 1 }), /^MSELoss: unknown option 'weight' \(the options are reduction\)$/],
  ['BCEWithLogitsLoss posWeight too short', () => new sn.BCEWithLogitsLoss({ posWeight: [1, 2] }).forward(t([2, 3]), t([2, 3])), /^BCEWithLogitsLoss: posWeight has 2 values, but the input of shape \[2, 3\] has 3 classes in its last dimension \(give 3 or 1\)$/],
  ['BCEWithLogitsLoss posWeight a string', () => new sn.BCEWithLogitsLoss({ posWeight: '2' }), /^BCEWithLogitsLoss: posWeight must be a Tensor or an array of numbers \(one per class\), got the string '2'$/],
  ['BCEWithLogitsLoss posWeight NaN', () => new sn.BCEWithLogitsLoss({ posWeight: [1, NaN] }), /^BCEWithLogitsLoss: posWeight\[1\] is NaN; every value must be a finite float32 number ≥ 0$/],
  ['BCEWithLogitsLoss snake_case option', () => new sn.BCEWithLogitsLoss({ pos_weight: [2] }), /^BCEWithLogitsLoss: unknown option 'pos_weight'; did you mean 'posWeight'\?/],

  // ---- optimizers ----
  ['Adam amsgrad a string', (f) => new sn.Adam(f.model.parameters(), { amsgrad: 'true' }), /^Adam: amsgrad must be a boolean \(true or false\), got the string 'true'$/],
  ['Adam betas a number', (f) => new sn.Adam(f.model.parameters(), { betas: 0.9 }), /^Adam: betas must be a pair \[beta1, beta2\], got 0\.9$/],
  ['Adam beta2 of 1', (f) => new sn.Adam(f.model.parameters(), { betas: [0.9, 1] }), /^Adam: betas\[1\] must be a finite number in \[0, 1\), got 1$/],
  ['Adam lr a string', (f) => new sn.Adam(f.model.parameters(), { lr: '0.1' }), /^Adam: lr must be a finite number ≥ 0, got the string '0\.1'$/],
  ['AdamW snake_case option', (f) => new sn.AdamW(f.model.parameters(), { weight_decay: 0.1 }), /^AdamW: unknown option 'weight_decay'; did you mean 'weightDecay'\?/],
  ['Adam options a number', (f) => new sn.Adam(f.model.parameters(), 0.01), /^Adam: options must be an object \{ lr\?, betas\?, eps\?, weightDecay\?, … \}, got 0\.01$/],
  ['Adam of the model', (f) => new sn.Adam(f.model), /^Adam: params must be a list of parameters \(model\.parameters\(\)\), got the module Sequential \(6 layers\)$/],
  ['Adam of no parameters', () => new sn.Adam([]), /^Adam: got an empty parameter list$/],
  ['Adam of numbers', () => new sn.Adam([1, 2]), /^Adam: params\[0\] is not a Parameter, got 1$/],
  ['Adam of a parameter twice', (f) => new sn.Adam([w(f), w(f)]), /^Adam: the parameter list holds the same parameter more than once$/],
  ['SGD without lr', (f) => new sn.SGD(f.model.parameters()), /^SGD: options\.lr is required, e\.g\. new SGD\(model\.parameters\(\), \{ lr: 0\.01 \}\)$/],
  ['SGD nesterov a string', (f) => new sn.SGD(f.model.parameters(), { lr: 0.1, nesterov: 'yes' }), /^SGD: nesterov must be a boolean \(true or false\), got the string 'yes'$/],
  ['SGD nesterov without momentum', (f) => new sn.SGD(f.model.parameters(), { lr: 0.1, nesterov: true }), /^SGD: nesterov momentum requires momentum > 0 and dampening 0, got momentum 0 and dampening 0$/],
  ['SGD negative lr', (f) => new sn.SGD(f.model.parameters(), { lr: -1 }), /^SGD: lr must be a finite number ≥ 0, got -1$/],
  ['SGD momentum NaN', (f) => new sn.SGD(f.model.parameters(), { lr: 0.1, momentum: NaN }), /^SGD: momentum must be a finite number ≥ 0, got NaN$/],
  ['SGD options a string', (f) => new sn.SGD(f.model.parameters(), '0.1'), /^SGD: options must be an object \{ lr\?, momentum\?, dampening\?, nesterov\?, … \}, got the string '0\.1'$/],
  ['optimizer.lr set to NaN', (f) => { f.optimizer.lr = NaN; }, /^Adam: lr must be a finite number ≥ 0, got NaN$/],
  ['optimizer.lr set to a string', (f) => { f.optimizer.lr = '0.1'; }, /^Adam: lr must be a finite number ≥ 0, got the string '0\.1'$/],
  ['a disposed optimizer steps', (f) => { const o = new sn.SGD(f.model.parameters(), { lr: 0.1 }); o.dispose(); o.step(); }, /^SGD: the optimizer was disposed, so it cannot step$/],

  // ---- schedulers ----
  ['StepLR gamma infinite', (f) => new sn.StepLR(f.optimizer, { stepSize: 1, gamma: Infinity }), /^StepLR: gamma must be a finite number > 0, got Infinity$/],
  ['StepLR stepSize 0', (f) => new sn.StepLR(f.optimizer, { stepSize: 0 }), /^StepLR: stepSize must be a positive integer, got 0$/],
  ['StepLR without options', (f) => new sn.StepLR(f.optimizer), /^StepLR: options\.stepSize is required, e\.g\. new StepLR\(optimizer, \{ stepSize: 10, gamma: 0\.1 \}\)$/],
  ['StepLR snake_case option', (f) => new sn.StepLR(f.optimizer, { step_size: 2 }), /^StepLR: unknown option 'step_size'; did you mean 'stepSize'\?/],
  ['StepLR of a string', () => new sn.StepLR('adam', { stepSize: 1 }), /^StepLR: optimizer must be an Optimizer \(e\.g\. new sn\.SGD\(model\.parameters\(\), \{ lr: 0\.1 \}\)\), got the string 'adam'$/],
  ['CosineAnnealingLR etaMin infinite', (f) => new sn.CosineAnnealingLR(f.optimizer, { tMax: 10, etaMin: Infinity }), /^CosineAnnealingLR: etaMin must be a finite number ≥ 0, got Infinity$/],
  ['CosineAnnealingLR tMax fractional', (f) => new sn.CosineAnnealingLR(f.optimizer, { tMax: 1.5 }), /^CosineAnnealingLR: tMax must be a positive integer, got 1\.5$/],
  ['CosineAnnealingLR options null', (f) => new sn.CosineAnnealingLR(f.optimizer, null), /^CosineAnnealingLR: options must be an object \{ tMax\?, etaMin\? \}, got null$/],
  ['StepLR step whose lr overflows', (f) => f.schedulers[1].step(), /^Adam: lr must be a finite number ≥ 0, got Infinity$/, (f) => {
    const s = new sn.StepLR(f.optimizer, { stepSize: 1, gamma: 1e300 });
    s.step();
    f.schedulers.push(s);
  }],
  ['scheduler lrAt of a string', (f) => f.scheduler.lrAt('2'), /^StepLR\.lrAt: epoch must be an integer ≥ 0, got the string '2'$/],

  // ---- state dicts and model files ----
  ['loadStateDict missing entry', (f) => { const d = f.model.stateDict(); delete d['5.bias']; f.model.loadStateDict(d); }, /^loadStateDict: the state dict does not match the model: missing 5\.bias$/],
  ['loadStateDict wrong shape', (f) => f.model.loadStateDict({ ...f.model.stateDict(), '5.bias': t([4]) }), /^loadStateDict: 5\.bias has shape \[4\], the model expects \[3\]$/],
  ['loadStateDict NaN weight', (f) => f.model.loadStateDict({ ...f.model.stateDict(), '5.weight': t([3, 8], (i) => (i === 9 ? NaN : 0)) }), /^loadStateDict: 5\.weight holds a non-finite value at index 9$/],
  ['loadStateDict array entry', (f) => f.model.loadStateDict({ ...f.model.stateDict(), '5.bias': [1, 2, 3] }), /^loadStateDict: 5\.bias must be a Tensor/],
  ['loadStateDict strict a string', (f) => f.model.loadStateDict(f.model.stateDict(), { strict: 'no' }), /^loadStateDict: strict must be a boolean \(true or false\), got the string 'no'$/],
  ['loadStateDict unknown option', (f) => f.model.loadStateDict(f.model.stateDict(), { strct: false }), /^loadStateDict: unknown option 'strct'; did you mean 'strict'\?/],
  ['loadStateDict negative count', (f) => f.model.loadStateDict({ ...f.model.stateDict(), '1.num_batches_tracked': new sn.Tensor([], BigInt64Array.of(-1n)) }), /^loadStateDict: 1\.num_batches_tracked holds -1 at index 0, expected a count/],
  ['loadSafetensors of another model', (f) => f.model.loadSafetensors(otherModel(f).toSafetensors(), 'other.safetensors'), /^other\.safetensors: loadStateDict: the state dict does not match the model: missing 1\.weight, 1\.bias, 1\.running_mean, 1\.running_var, 1\.num_batches_tracked, 5\.weight, 5\.bias$/],
  ['loadSafetensors of three bytes', (f) => f.model.loadSafetensors(new Uint8Array(3), 'tiny.safetensors'), /^tiny\.safetensors: /],
  ['loadSafetensors with options for a source', (f) => f.model.loadSafetensors(f.model.toSafetensors(), { strict: false }), /^loadSafetensorsInto: source must be a string \(the name of the data in messages\), got an object with key strict; the call is model\.loadSafetensors\(bytes, source\)$/],
  ['fromSafetensors with a number source', (f) => sn.Sequential.fromSafetensors(f.model.toSafetensors(), 5), /^modelFromSafetensors: source must be a string .* got 5;/],
  ['saveModel to an empty path', (f) => io.saveModel(f.model, ''), /^saveModel: expected a file path \(a non-empty string\), got an empty string$/],
  ['loadModelInto a number path', (f) => io.loadModelInto(f.model, 5), /^loadModelInto: expected a file path \(a non-empty string\), a URL, a Response, a Blob or the file's bytes, got 5$/],
  ['architectureOf of a layer', (f) => io.architectureOf(f.model.at(5)), /^architectureOf: expected a Sequential, got Linear\(in_features=8, out_features=3, bias=True\)$/],

  // ---- fit ----
  ['fit misspelt epochs', (f) => f.model.fit(f.x, f.y, { epoch: 5, ...silent }), /^fit: unknown option 'epoch'; did you mean 'epochs'\? \(the options are epochs, batchSize, optimizer, loss, scheduler, /],
  ['fit seed a string', (f) => f.model.fit(f.x, f.y, { seed: 'abc', ...silent }), /^fit: seed must be a safe integer \(it is used modulo 2\^32\), got the string 'abc'$/],
  ['fit callbacks a number', (f) => f.model.fit(f.x, f.y, { callbacks: 5, ...silent }), /^fit: callbacks must be a callback object or an array of them, got 5$/],
  ['fit misspelt callback hook', (f) => f.model.fit(f.x, f.y, { callbacks: [{ onEpochEnds() {} }], ...silent }), /^fit: callbacks\[0\] has onEpochEnds, which is not a callback hook; did you mean 'onEpochEnd'\?/],
  ['fit callback hook not a function', (f) => f.model.fit(f.x, f.y, { callbacks: [{ onEpochEnd: 5 }], ...silent }), /^fit: callbacks\[0\]\.onEpochEnd must be a function, got 5$/],
  ['fit with another model\'s optimizer', (f) => f.model.fit(f.x, f.y, { optimizer: new sn.SGD(otherModel(f).parameters(), { lr: 0.1 }), ...silent }),
    /^fit: 2 of the optimizer's 2 parameters are not this model's \(the first is params\[0\], of shape \[3, 8\]\), so its steps would change another model/],
  ['fit with an optimizer over this and another model', (f) => f.model.fit(f.x, f.y, { optimizer: new sn.SGD([...f.model.parameters(), ...otherModel(f).parameters()], { lr: 0.1 }), ...silent }),
    /^fit: 2 of the optimizer's 8 parameters are not this model's \(the first is params\[6\], of shape \[3, 8\]\)/],
  ['fit optimizer a plain object', (f) => f.model.fit(f.x, f.y, { optimizer: {}, ...silent }), /^fit: optimizer must be an Optimizer \(e\.g\. new sn\.Adam\(model\.parameters\(\)\)\), got an empty object$/],
  ['fit batchSize 2^31', (f) => f.model.fit(f.x, f.y, { batchSize: 2 ** 31, ...silent }), /^fit: batchSize must be a positive integer ≤ 2147483647, got 2147483648$/],
  ['fit batchSize fractional', (f) => f.model.fit(f.x, f.y, { batchSize: 1.5, ...silent }), /^fit: batchSize must be a positive integer ≤ 2147483647, got 1\.5$/],
  ['fit epochs 0', (f) => f.model.fit(f.x, f.y, { epochs: 0, ...silent }), /^fit: epochs must be a positive integer, got 0$/],
  ['fit validationSplit 1', (f) => f.model.fit(f.x, f.y, { validationSplit: 1, ...silent }), /^fit: validationSplit must be in \(0, 1\), got 1$/],
  ['fit validationSplit and validationData', (f) => f.model.fit(f.x, f.y, { validationSplit: 0.5, validationData: [f.x, f.y], ...silent }), /^fit: give validationSplit or validationData, not both$/],
  ['fit validationData not a pair', (f) => f.model.fit(f.x, f.y, { validationData: f.x, ...silent }), /^fit: validationData must be a pair \[x, y\] \(a Tensor and its labels or targets\) or a Dataset of batches, got a float32 Tensor of shape \[4, 1, 4, 4\]$/],
  ['fit verbose 2', (f) => f.model.fit(f.x, f.y, { verbose: 2 }), /^fit: verbose must be 'auto', 0 or 1, got 2$/],
  ['fit loss a string', (f) => f.model.fit(f.x, f.y, { loss: 'mse', ...silent }), /^fit: loss must be a Loss \(e\.g\. new sn\.CrossEntropyLoss\(\)\), got the string 'mse'$/],
  ['fit scheduler of another optimizer', (f) => f.model.fit(f.x, f.y, { optimizer: new sn.Adam(f.model.parameters()), scheduler: f.scheduler, ...silent }), /^fit: options\.scheduler sets the learning rate of another optimizer than options\.optimizer/],
  ['fit scheduler without its optimizer', (f) => f.model.fit(f.x, f.y, { scheduler: f.scheduler, ...silent }), /^fit: a scheduler was given without its optimizer; pass that optimizer as options\.optimizer too/],
  ['fit progressStream without write', (f) => f.model.fit(f.x, f.y, { progressStream: {} }), /^fit: progressStream must be a stream with a write\(text\) method, got an empty object$/],
  ['fit signal a string', (f) => f.model.fit(f.x, f.y, { signal: 'abort', ...silent }), /^fit: signal must be an AbortSignal, got the string 'abort'$/],
  ['fit checkpoint a number', (f) => f.model.fit(f.x, f.y, { checkpoint: 5, ...silent }), /^fit: checkpoint must be a function \(epoch\) => void \(or, with model\.fit, a file path\), got 5$/],
  ['fit options null', (f) => f.model.fit(f.x, f.y, null), /^fit: options must be an object \{ epochs\?, batchSize\?, optimizer\?, loss\?, … \}, got null$/],
  ['fit options a string', (f) => f.model.fit(f.x, f.y, 'epochs=5'), /^fit: options must be an object .* got the string 'epochs=5'$/],
  ['fit x a plain array', (f) => f.model.fit(Array.from({ length: 60000 }, (_, i) => i % 256), f.y, silent), /^fit: x must be a Tensor of shape \[N, \.\.\.\], got an Array of 60000 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['fit x a Float32Array', (f) => f.model.fit(new Float32Array(64), f.y, silent), /^fit: x must be a Tensor of shape \[N, \.\.\.\], got a Float32Array of 64 values; wrap it with sn\.tensor\(data, shape\)$/],
  ['fit x a Promise', (f) => f.model.fit(Promise.resolve(f.x), f.y, silent), /^fit: x must be a Tensor of shape \[N, \.\.\.\], got a Promise \(a missing await\?\)$/],
  ['fit string labels', (f) => f.model.fit(f.x, ['0', '1', '2', '1'], silent), /^fit: label at index 0 is the string '0', expected an integer class index$/],
  ['fit int64 labels beyond int32', (f) => f.model.fit(f.x, BigInt64Array.of(0n, 1n, 2n ** 40n, 1n), silent), /^fit: label at index 2 is the bigint 1099511627776n, expected an integer class index$/],
  ['fit labels out of range', (f) => f.model.fit(f.x, [0, 1, 3, 1], silent), /^fit: CrossEntropyLoss: label at index 2 is 3, expected an integer class index in \[0, 3\)$/],
  ['fit labels an object', (f) => f.model.fit(f.x, { 0: 1 }, silent), /^fit: y must be class labels \(an Int32Array, a BigInt64Array or an array of integers\) or a Tensor target, got an object with key 0$/],
  ['fit NaN in x', (f) => f.model.fit(t([4, 1, 4, 4], (i) => (i === 20 ? NaN : 0)), f.y, silent), /^fit: x holds NaN in sample 1; every value must be finite$/],
  ['fit y length mismatch', (f) => f.model.fit(f.x, [0, 1], silent), /^fit: y has 2 labels, x has 4 samples$/],
  ['fit empty x', (f) => f.model.fit(t([0, 1, 4, 4]), [], silent), /^fit: x must have at least one sample, got shape \[0, 1, 4, 4\]$/],
  ['fit x of the wrong shape', (f) => f.model.fit(t([4, 2, 4, 4]), f.y, silent), /^fit: a batch of 4: layer 0 \(Conv2d\(.*\)\): expected input of shape \[N, 1, H, W\], got \[4, 2, 4, 4\]$/],
  ['fit checkpoint an empty path', (f) => f.model.fit(f.x, f.y, { checkpoint: '', ...silent }), /^fit: checkpoint must be a file path or a function \(epoch\) => void, got an empty string$/],
  ['fit of a number as the model', (f) => sn.fit(5, f.x, f.y, silent), /^fit: model must be a Module \(a layer or a Sequential\), got 5$/],
  ['fit transforms a function', (f) => f.model.fit(f.x, f.y, { transforms: (x) => x, ...silent }), /^fit: transforms must be a transform or an array of them \(e\.g\. \[sn\.transforms\.randomHorizontalFlip\(\)\]\), got the function transforms$/],
  ['fit crop larger than the images', (f) => f.model.fit(f.x, f.y, { transforms: [sn.transforms.randomCrop(5)], ...silent }), /^fit: transforms: RandomCrop\(size=\(5, 5\), padding=0\): the crop 5×5 is larger than the padded image 4×4 \(samples of shape \[1, 4, 4\]\)$/],

  // ---- fit and evaluate on a dataset ----
  ['fit on a dataset of samples', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y), silent), /^fit: the dataset yields samples, not batches; batch it first \(e\.g\. dataset\.batch\(32\)\)$/],
  ['fit on a dataset with batchSize', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { batchSize: 2, ...silent }), /^fit: batchSize is not an option with a dataset \(the dataset's batch\(n\) sets it\)$/],
  ['fit on a dataset with shuffle', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { shuffle: true, ...silent }), /^fit: shuffle is not an option with a dataset \(use the dataset's shuffle\(bufferSize\)\)$/],
  ['fit on a dataset with validationSplit', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { validationSplit: 0.5, ...silent }), /^fit: validationSplit is not an option with a dataset \(give validationData, another dataset\)$/],
  ['fit on a dataset with options fourth', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), f.y, silent), /^fit: with a dataset the options come third, fit\(model, dataset, options\)/],
  ['fit on a dataset misspelt epochs', (f) => f.model.fit(data.Dataset.fromTensors(f.x, f.y).batch(2), { epoch: 2, ...silent }), /^fit: unknown option 'epoch'; did you mean 'epochs'\?/],
  ['fit on an empty dataset', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).take(0).batch(2), silent), /^fit: the dataset yields no batches$/],
  ['fit on a dataset whose first batch holds NaN', (f) => sn.fit(f.model, data.Dataset.fromTensors(t([4, 1, 4, 4], (i) => (i === 30 ? NaN : 0)), f.y).batch(4), silent),
    /^fit: the first batch: x holds NaN in sample 1; every value must be finite$/],
  ['fit on a dataset of the wrong shape', (f) => sn.fit(f.model, data.Dataset.fromTensors(t([4, 2, 4, 4]), f.y).batch(4), silent), /^fit: the first batch: a batch of 4: layer 0 \(Conv2d\(.*\)\): expected input of shape \[N, 1, H, W\], got \[4, 2, 4, 4\]$/],
  ['fit on a dataset with labels out of range', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, [0, 1, 7, 1]).batch(4), silent), /^fit: the first batch: CrossEntropyLoss: label at index 2 is 7, expected an integer class index in \[0, 3\)$/],
  ['fit on a dataset whose batches are not { x, y }', (f) => sn.fit(f.model, data.Dataset.fromGenerator(() => [f.x], { batched: true }), silent), /^fit: the first batch: a batch must be an object \{ x, y \}, got a float32 Tensor of shape \[4, 1, 4, 4\]$/],
  ['fit on a dataset that throws', (f) => sn.fit(f.model, data.Dataset.fromGenerator(() => { throw new Error('disk gone'); }, { batched: true }), silent), /^fit: reading the first batch: disk gone$/],
  ['fit on a dataset of samples of two shapes', (f) => sn.fit(f.model, data.Dataset.fromGenerator(() => [{ x: t([1, 4, 4]), y: 0 }, { x: t([1, 4, 5]), y: 1 }]).batch(2), silent),
    /^fit: reading the first batch: Dataset\.batch: element 1 has x of shape \[1, 4, 5\], the first of its batch \[1, 4, 4\]; the samples of a batch must have one shape$/],
  ['fit on a dataset with a validation dataset of samples', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { validationData: data.Dataset.fromTensors(f.x, f.y), ...silent }),
    /^fit: validationData: the dataset yields samples, not batches; batch it first \(e\.g\. dataset\.batch\(256\)\)$/],
  ['fit on a dataset with validation targets for labels', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { validationData: data.Dataset.fromTensors(f.x, t([4, 3])).batch(2), ...silent }),
    /^fit: validationData has a Tensor target, but the training data has class labels$/],
  ['fit on a dataset with a validation dataset of the wrong shape', (f) => sn.fit(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { validationData: data.Dataset.fromTensors(t([4, 3, 4, 4]), f.y).batch(2), ...silent }),
    /^fit: validationData: the first batch: a batch of 2: layer 0 \(Conv2d/],
  ['fit on tensors with a validation dataset of NaN', (f) => f.model.fit(f.x, f.y, { validationData: data.Dataset.fromTensors(t([4, 1, 4, 4], () => NaN), f.y).batch(4), ...silent }),
    /^fit: validationData: the first batch: x holds NaN in sample 0; every value must be finite$/],
  ['evaluate a dataset with batchSize', (f) => sn.evaluate(f.model, data.Dataset.fromTensors(f.x, f.y).batch(2), { batchSize: 2 }), /^evaluate: batchSize is the dataset's \(set by dataset\.batch\(n\)\), not an option with a dataset$/],
  ['evaluate a dataset of samples', (f) => f.model.evaluate(data.Dataset.fromTensors(f.x, f.y)), /^evaluate: the dataset yields samples, not batches; batch it first/],
  ['evaluate a dataset with a bad batch', (f) => sn.evaluate(f.model, data.Dataset.fromGenerator(() => [{ x: f.x, y: f.y }, { x: t([4, 2, 4, 4]), y: f.y }], { batched: true })),
    /^evaluate: batch 2: x has shape \[4, 2, 4, 4\], samples of \[2, 4, 4\]; the first batch's samples are \[1, 4, 4\]$/],

  // ---- evaluate, predict, predictClasses, profile, summary ----
  ['evaluate batchSize 0', (f) => f.model.evaluate(f.x, f.y, { batchSize: 0 }), /^evaluate: batchSize must be a positive integer ≤ 2147483647, got 0$/],
  ['evaluate snake_case option', (f) => f.model.evaluate(f.x, f.y, { batch_size: 10 }), /^evaluate: unknown option 'batch_size'; did you mean 'batchSize'\? \(the options are batchSize, loss\)$/],
  ['evaluate x an array', (f) => f.model.evaluate([1, 2], f.y), /^evaluate: x must be a Tensor of shape \[N, \.\.\.\], got an Array of 2 numbers; wrap it/],
  ['evaluate too few labels', (f) => f.model.evaluate(f.x, [0, 1, 2]), /^evaluate: y has 3 labels, x has 4 samples$/],
  ['evaluate label out of range', (f) => f.model.evaluate(f.x, [0, 1, 7, 1]), /^CrossEntropyLoss: label at index 2 is 7, expected an integer class index in \[0, 3\)$/],
  ['evaluate loss not a Loss', (f) => f.model.evaluate(f.x, f.y, { loss: () => 0 }), /^evaluate: loss must be a Loss \(e\.g\. new sn\.CrossEntropyLoss\(\)\), got the function loss$/],
  ['predict batchSize negative', (f) => f.model.predict(f.x, { batchSize: -1 }), /^predict: batchSize must be a positive integer ≤ 2147483647, got -1$/],
  ['predict with a loss option', (f) => f.model.predict(f.x, { loss: new sn.MSELoss() }), /^predict: unknown option 'loss' \(the options are batchSize\)$/],
  ['predict x of the wrong shape', (f) => f.model.predict(t([2, 2, 4, 4])), /^layer 0 \(Conv2d\(.*\)\): expected input of shape \[N, 1, H, W\], got \[2, 2, 4, 4\]$/],
  ['predictClasses of a number', (f) => f.model.predictClasses(5), /^predictClasses: x must be a Tensor of shape \[N, \.\.\.\], got 5$/],
  ['predictClasses batchSize a string', (f) => f.model.predictClasses(f.x, { batchSize: '8' }), /^predictClasses: batchSize must be a positive integer ≤ 2147483647, got the string '8'$/],
  ['profile steps 0', (f) => f.model.profile(f.x, f.y, { steps: 0 }), /^profile: steps must be a positive integer, got 0$/],
  ['profile warmup negative', (f) => f.model.profile(f.x, f.y, { warmup: -1 }), /^profile: warmup must be a non-negative integer, got -1$/],
  ['profile with another model\'s optimizer', (f) => f.model.profile(f.x, f.y, { optimizer: new sn.SGD(otherModel(f).parameters(), { lr: 0.1 }) }), /^profile: 2 of the optimizer's 2 parameters are not this model's/],
  ['profile misspelt option', (f) => f.model.profile(f.x, f.y, { step: 3 }), /^profile: unknown option 'step'; did you mean 'steps'\?/],
  ['profile x an array', (f) => f.model.profile([1, 2, 3], f.y), /^profile: x must be a Tensor of shape \[N, \.\.\.\], got an Array of 3 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['summary with a zero dimension', (f) => f.model.summary([0, 4, 4]), /^summary: inputShape must be one sample's shape without the batch dimension, an array of positive integers such as \[1, 28, 28\], got an Array of 3 numbers$/],
  ['summary of a string', (f) => f.model.summary('1,4,4'), /^summary: inputShape must be .* got the string '1,4,4'$/],
  ['summary of the wrong channels', (f) => f.model.summary([2, 4, 4]), /^layer 0 \(Conv2d\(.*\)\): expected input of shape \[N, 1, H, W\], got \[2, 2, 4, 4\]$/],
  ['ProgressPrinter without a stream', () => new sn.ProgressPrinter(null, 3), /^ProgressPrinter: the stream must have a write\(text\) method \(e\.g\. process\.stdout\), got null$/],
  ['ProgressPrinter epochs a string', () => new sn.ProgressPrinter({ write() {} }, '3'), /^ProgressPrinter: epochs must be a positive integer, got the string '3'$/],
  ['featureMaps conv without an activation after it', () => plot.featureMaps(new sn.Sequential(new sn.Conv2d(1, 1, 1)), t([1, 1, 2, 2]), { after: 'activation' }),
    /^featureMaps: layer 0 \(Conv2d\(1, 1, kernel_size=\(1, 1\), stride=\(1, 1\)\)\) is not followed by an activation/],
  ['earlyStopping monitor in snake_case', () => sn.earlyStopping({ monitor: 'val_loss' }), /^earlyStopping: monitor must be 'loss', 'accuracy', 'valLoss' or 'valAccuracy', got the string 'val_loss'$/],
  ['earlyStopping patience negative', () => sn.earlyStopping({ patience: -1 }), /^earlyStopping: patience must be a non-negative integer, got -1$/],
  ['earlyStopping snake_case option', () => sn.earlyStopping({ restore_best_weights: true }), /^earlyStopping: unknown option 'restore_best_weights'; did you mean 'restoreBestWeights'\?/],

  // ---- data readers and helpers ----
  ['mnist split TRAIN', () => data.mnist({ split: 'TRAIN' }), /^mnist: split must be 'train' or 'test', got the string 'TRAIN'$/],
  ['mnist split validation', () => data.mnist({ split: 'validation' }), /^mnist: split must be 'train' or 'test', got the string 'validation'$/],
  ['mnist limit negative', () => data.mnist({ limit: -5 }), /^mnist: limit must be a positive integer, got -5$/],
  ['mnist limit 0', () => data.mnist({ limit: 0 }), /^mnist: limit must be a positive integer, got 0$/],
  ['mnist limit fractional', () => data.mnist({ limit: 1.5 }), /^mnist: limit must be a positive integer, got 1\.5$/],
  ['mnist limit NaN', () => data.mnist({ limit: NaN }), /^mnist: limit must be a positive integer, got NaN$/],
  ['mnist misspelt option', () => data.mnist({ limt: 5 }), /^mnist: unknown option 'limt'; did you mean 'limit'\? \(the options are split, limit, dir, normalize\)$/],
  ['mnist dir a number', () => data.mnist({ dir: 5 }), /^mnist: dir must be a non-empty string \(a directory\), got 5$/],
  ['readDigitCsv options in place of source', () => data.readDigitCsv('label', { normalize: false }), /^readDigitCsv: source must be a string \(the name of the data in messages\), got an object with key normalize; the call is readDigitCsv\(text, source, options\)$/],
  ['readDigitCsv normalize a string', () => data.readDigitCsv(`${csvHeader}\n1${',0'.repeat(784)}\n`, 'train.csv', { normalize: 'no' }), /^train\.csv: readDigitCsv: normalize must be a boolean \(true or false\), got the string 'no'$/],
  ['readDigitCsv of bytes', () => data.readDigitCsv(new Uint8Array(4), 'train.csv'), /^train\.csv: readDigitCsv expects the file's text as a string, got a Uint8Array of 4 values$/],
  ['readCifar10 of a string', () => data.readCifar10('abc'), /^CIFAR-10 data: readCifar10 expects a Uint8Array \(a Node Buffer is one\), an ArrayBuffer or another ArrayBufferView holding the file's bytes, got the string 'abc'$/],
  ['readIdx of an Array', () => data.readIdx([0, 0, 8, 1]), /^IDX data: readIdx expects a Uint8Array \(a Node Buffer is one\), an ArrayBuffer or another ArrayBufferView holding the file's bytes, got an Array of 4 numbers$/],
  ['spiral classes 0', () => data.spiral({ classes: 0 }), /^spiral: classes must be an integer ≥ 1, got 0$/],
  ['spiral seed a string', () => data.spiral({ seed: 'a' }), /^spiral: seed must be a safe integer \(it is used modulo 2\^32\), got the string 'a'$/],
  ['spiral misspelt option', () => data.spiral({ pointPerClass: 3 }), /^spiral: unknown option 'pointPerClass'; did you mean 'pointsPerClass'\?/],
  ['trainValidationSplit fraction 1.5', () => data.trainValidationSplit(Int32Array.of(0, 1), 1.5), /^trainValidationSplit: fraction must be a number in \[0, 1\), got 1\.5$/],
  ['trainValidationSplit stratify a string', () => data.trainValidationSplit(Int32Array.of(0, 1), 0.5, { stratify: 'yes' }), /^trainValidationSplit: stratify must be a boolean \(true or false\), got the string 'yes'$/],
  ['trainValidationSplit labels an array', () => data.trainValidationSplit([0, 1], 0.5), /^trainValidationSplit: labels must be an Int32Array, got an Array of 2 numbers$/],
  ['batches batchSize 0', () => data.batches(10, 0), /^batches: batchSize must be an integer ≥ 1, got 0$/],
  ['batches seed without shuffle', () => data.batches(10, 2, { seed: 1 }), /^batches: a seed was given without shuffle: true/],
  ['batches snake_case option', () => data.batches(10, 2, { drop_last: true }), /^batches: unknown option 'drop_last'; did you mean 'dropLast'\?/],
  ['shuffle n negative', () => data.shuffle(-1), /^shuffle: n must be an integer ≥ 0, got -1$/],
  ['normalize too many means', (f) => data.normalize(f.x, [0, 1], [1]), /^normalize: mean has 2 values; images of shape \[4, 1, 4, 4\] have 1 channels \(give 1 or 1\)$/],
  ['normalize mean a string', (f) => data.normalize(f.x, '0', [1]), /^normalize: mean must be an array of numbers \(one per channel, or one for all\), got the string '0'$/],
  ['normalize images an array', () => data.normalize([1, 2], [0], [1]), /^normalize: images must be a Tensor, got an Array of 2 numbers; wrap it with sn\.tensor\(data, shape\)$/],
  ['takeRows index out of range', (f) => data.takeRows(f.x, f.y, [5]), /^takeRows: index 0 is 5, outside the 4 rows \[0, 4\)$/],
  ['takeRows index a string', (f) => data.takeRows(f.x, null, ['1']), /^takeRows: index 0 is the string '1', outside the 4 rows \[0, 4\)$/],
  ['gatherRows dst too small', () => data.gatherRows(new Float32Array(12), 3, [0, 1], new Float32Array(3)), /^gatherRows: dst holds 3 values, 2 rows of 3 need 6$/],
  ['gatherRows indices null', () => data.gatherRows(new Float32Array(12), 3, null, new Float32Array(3)), /^gatherRows: indices must be an Int32Array or an array of integers, got null$/],
  ['writeSubmissionCsv negative label', () => data.writeSubmissionCsv([1, -1]), /^writeSubmissionCsv: label 1 is -1, not a non-negative integer$/],

  ['lenet5 classes a string', () => sn.models.lenet5('10'), /^lenet5: classes must be a positive integer, got the string '10'$/],
  ['mlp hidden a string', () => sn.models.mlp(784, 10, '256'), /^mlp: hidden must be an array of positive integers \(the hidden layers' widths\), got the string '256'$/],

  // ---- tensors ----
  ['tensor with too few values', () => sn.tensor([1, 2, 3], [2, 2]), /^sn\.tensor: shape \[2, 2\] needs 4 values, got 3$/],
  ['tensor with a negative dimension', () => sn.tensor([1, 2], [-2]), /^sn\.tensor: shape \[-2\] has a dimension that is not a non-negative integer$/],
  ['tensor with a fractional dimension', () => sn.tensor([1, 2], [1.5]), /^sn\.tensor: shape \[1\.5\] has a dimension that is not a non-negative integer$/],

  // ---- init ----
  ['kaimingUniform mode fan_avg', (f) => init.kaimingUniform(w(f), { mode: 'fan_avg' }), /^init\.kaimingUniform: mode must be 'fan_in' or 'fan_out', got the string 'fan_avg'$/],
  ['kaimingNormal unknown nonlinearity', (f) => init.kaimingNormal(w(f), { nonlinearity: 'gelu' }), /^init\.kaimingNormal: nonlinearity must be 'linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu' or 'selu', got the string 'gelu'$/],
  ['kaimingUniform misspelt option', (f) => init.kaimingUniform(w(f), { nonlinarity: 'relu' }), /^init\.kaimingUniform: unknown option 'nonlinarity'; did you mean 'nonlinearity'\?/],
  ['kaimingUniform of a 1-D bias', (f) => init.kaimingUniform(f.model.at(0).bias), /^init: fan in and fan out need a tensor with at least 2 dimensions, got \[2\]$/],
  ['uniform_ with a > b', (f) => init.uniform_(w(f), 1, 0), /^init\.uniform_: b must be a finite number ≥ 1, got 0$/],
  ['normal_ with a negative std', (f) => init.normal_(w(f), 0, -1), /^init\.normal_: std must be a finite number ≥ 0, got -1$/],
  ['constant_ NaN', (f) => init.constant_(w(f), NaN), /^init\.constant_: value must be a finite number, got NaN$/],
  ['xavierUniform gain a string', (f) => init.xavierUniform(w(f), '2'), /^init\.xavierUniform: gain must be a finite number, got the string '2'$/],
  ['uniform_ of an array', () => init.uniform_([1, 2]), /^init\.uniform_: the tensor to fill must be a Parameter \(e\.g\. layer\.weight\) or a Tensor, got an Array of 2 numbers$/],
  ['calculateGain unknown', () => init.calculateGain('gelu'), /^init\.calculateGain: nonlinearity must be .* got the string 'gelu'$/],
  ['fans of a string', () => init.fans('3,4'), /^init: a shape must be an array of non-negative integers, got the string '3,4'$/],

  // ---- plots ----
  ['lossCurvesSvg title a number', () => plot.lossCurvesSvg({ loss: [1, 0.5] }, { title: 5 }), /^lossCurvesSvg: title must be a string, got 5$/],
  ['lossCurvesSvg NaN loss', () => plot.lossCurvesSvg({ loss: [1, NaN] }), /^lossCurvesSvg: history\.loss\[1\] is NaN; every value must be a finite number/],
  ['lossCurvesSvg history an array', () => plot.lossCurvesSvg([1, 2]), /^lossCurvesSvg: history\.loss must be an array of numbers, got undefined$|^lossCurvesSvg: history\.loss is missing or empty$/],
  ['digitGridSvg columns 0', (f) => plot.digitGridSvg(f.x, Int32Array.of(1, 2, 3, 4), Int32Array.of(1, 2, 3, 4), { columns: 0 }), /^digitGridSvg: columns must be a positive integer, got 0$/],
  ['digitGridPng labels a string', (f) => plot.digitGridPng(f.x, 'abcd', Int32Array.of(1, 2, 3, 4)), /^digitGridPng: labels must be an Int32Array or an array of integers, got the string 'abcd'$/],
  ['digitGridSvg misspelt option', (f) => plot.digitGridSvg(f.x, Int32Array.of(1, 2, 3, 4), Int32Array.of(1, 2, 3, 4), { colums: 2 }), /^digitGridSvg: unknown option 'colums'; did you mean 'columns'\?/],
  ['featureMaps after pool', (f) => plot.featureMaps(f.model, t([1, 1, 4, 4]), { after: 'pool' }), /^featureMaps: after must be 'conv' or 'activation', got the string 'pool'$/],
  ['featureMaps layer not a Conv2d', (f) => plot.featureMaps(f.model, t([1, 1, 4, 4]), { layer: 3 }), /^featureMaps: layer 3 is MaxPool2d\(.*\), not a Conv2d$/],
  ['featureMaps image of two', (f) => plot.featureMaps(f.model, t([2, 1, 4, 4])), /^featureMaps: image must have shape \[1, C, H, W\] \(one image\), got \[2, 1, 4, 4\]$/],
  ['featureMapsSvg misspelt option', (f) => plot.featureMapsSvg(f.model, t([1, 1, 4, 4]), { colums: 4 }), /^featureMapsSvg: unknown option 'colums'; did you mean 'columns'\?/],
  ['featureMapsPng cell 0', (f) => plot.featureMapsPng(f.model, t([1, 1, 4, 4]), { cell: 0 }), /^featureMapsPng: cell must be a positive integer ≤ 4096 \(pixels\), got 0$/],
  ['featureMaps picture option on featureMaps', (f) => plot.featureMaps(f.model, t([1, 1, 4, 4]), { columns: 4 }), /^featureMaps: unknown option 'columns' \(the options are layer, after\)$/],
  ['encodePng channels 2', () => plot.encodePng(2, 2, new Uint8Array(8), 2), /^encodePng: channels must be 1 \(gray\) or 3 \(RGB\), got 2$/],
  ['encodePng pixels an array', () => plot.encodePng(1, 1, [0], 1), /^encodePng: pixels must be a Uint8Array, got an Array of 1 number$/],
];

for (const [name, call, expected, prepare] of rows) {
  test(name, async () => {
    const f = fixture();
    try {
      prepare?.(f);
      const before = snapshot(f);
      let error = null;
      try {
        await call(f);
      } catch (err) {
        error = err;
      }
      assert.ok(error !== null, `${name}: no Error was thrown`);
      assert.ok(error instanceof Error && error.constructor === Error, `${name}: expected a plain Error, got ${error?.constructor?.name}: ${error?.message}`);
      assert.match(error.message, expected);
      assert.equal(snapshot(f), before, `${name}: the model, optimizer or scheduler changed`);
    } finally {
      f.dispose();
    }
  });
}

test('an input check is not made again of values checked already (an input checked, a ReLU\'s or a max-pool\'s output), and still refuses NaN where values can change in place', () => {
  const r = rt(), kernels = r.kernels;
  let counts = 0;
  // countNonFinite's calls counted (the exports object itself is frozen: a proxy over an empty one).
  r.kernels = new Proxy({}, { get: (_, name) => (name === 'countNonFinite' ? (...args) => { counts++; return kernels.countNonFinite(...args); } : kernels[name]) });
  try {
    const model = new sn.Sequential(new sn.Conv2d(1, 4, 3), new sn.ReLU(), new sn.MaxPool2d(2), new sn.Conv2d(4, 4, 3, { padding: 1 }),
      new sn.ReLU(), new sn.Flatten(), new sn.Linear(36, 2));
    const x = sn.tensor(Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)), [2, 1, 8, 8]);
    for (let step = 0; step < 2; step++) {
      counts = 0;
      model.forward(x);
      // The copy of the host input, once: not again at conv1, nor at the pool, conv2, Flatten or Linear.
      assert.is(counts, 1, `step ${step}: countNonFinite calls`);
    }
    const bad = Float32Array.from({ length: 128 }, (_, i) => (i === 77 ? NaN : 1));
    assert.throws(() => model.forward(sn.tensor(bad, [2, 1, 8, 8])), /^Sequential \(7 layers\) input: 1 of 128 values are NaN or infinite$/);
    // A parameter (written in place by optimizers and loads) is checked at every call.
    const lin = new sn.Linear(3, 2), next = new sn.Linear(3, 1);
    next.forward(lin.weight.data);
    lin.weight.data.view()[4] = Infinity;
    assert.throws(() => next.forward(lin.weight.data), /^Linear\(in_features=3, out_features=1, bias=True\) input: 1 of 6 values are NaN or infinite$/);
    model.dispose(); lin.dispose(); next.dispose();
  } finally {
    r.kernels = kernels;
  }
});

test('the table covers well over 100 calls', () => {
  assert.ok(rows.length > 150, `${rows.length} rows`);
  assert.is(new Set(rows.map(([name]) => name)).size, rows.length, 'row names are unique');
});

test.run();
