// LeNet-5 in TensorFlow.js ops, NHWC (tfjs's layout; the same arithmetic as simdnet's NCHW):
// conv 1→6 k5 pad 2, ReLU, maxpool 2, conv 6→16 k5, ReLU, maxpool 2, flatten, 400→120→84→10.
// Each layer is a list of kernel calls through tf.engine().runKernel, so the same code serves a
// training step (the engine's own tape records the calls for tf.variableGrads) and the per-layer
// profile (which records them itself and runs each kernel's registered gradient).

/** PyTorch's default init range, U(±1/√fan_in), from a fixed seed. */
function param(tf, shape, fanIn, seed) {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.tidy(() => tf.variable(tf.randomUniform(shape, -bound, bound, 'float32', seed), true));
}

/** { layers: [{ name, calls(x, batch) → [[kernel, inputs, attrs, dataInput, paramInputs]] }], variables } */
export function tfjsLenet(tf) {
  const conv = (name, inC, outC, pad, seed) => {
    const filter = param(tf, [5, 5, inC, outC], inC * 25, seed), bias = param(tf, [outC], inC * 25, seed + 1);
    return { name, params: [filter, bias], kernels: [
      ['Conv2D', (x) => ({ x, filter }), { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] }, 'x', ['filter']],
      ['Add', (a) => ({ a, b: bias }), {}, 'a', ['b']],
    ] };
  };
  const linear = (name, inF, outF, seed) => {
    const w = param(tf, [inF, outF], inF, seed), bias = param(tf, [outF], inF, seed + 1);
    return { name, params: [w, bias], kernels: [
      ['BatchMatMul', (a) => ({ a, b: w }), { transposeA: false, transposeB: false }, 'a', ['b']],
      ['Add', (a) => ({ a, b: bias }), {}, 'a', ['b']],
    ] };
  };
  const relu = (name) => ({ name, params: [], kernels: [['Relu', (x) => ({ x }), {}, 'x', []]] });
  const pool = (name) => ({ name, params: [], kernels: [['MaxPool', (x) => ({ x }), { filterSize: [2, 2], strides: [2, 2], pad: 0 }, 'x', []]] });
  const flatten = { name: '6 Flatten', params: [], kernels: [['Reshape', (x) => ({ x }), (x) => ({ shape: [x.shape[0], 400] }), 'x', []]] };
  const layers = [
    conv('0 Conv2d', 1, 6, 2, 10), relu('1 ReLU'), pool('2 MaxPool2d'),
    conv('3 Conv2d', 6, 16, 0, 20), relu('4 ReLU'), pool('5 MaxPool2d'),
    flatten, linear('7 Linear', 400, 120, 30), relu('8 ReLU'), linear('9 Linear', 120, 84, 40), relu('10 ReLU'),
    linear('11 Linear', 84, 10, 50),
  ];
  return { layers, variables: layers.flatMap((l) => l.params) };
}

/** Runs one layer's kernels; `tape`, when given, collects { kernel, inputs, attrs, output, dataInput, paramInputs }. */
export function runLayer(tf, layer, x, tape = null) {
  let h = x;
  for (const [kernel, makeInputs, attrsOf, dataInput, paramInputs] of layer.kernels) {
    const inputs = makeInputs(h);
    const attrs = typeof attrsOf === 'function' ? attrsOf(h) : attrsOf;
    h = tf.engine().runKernel(kernel, inputs, attrs);
    tape?.push({ kernel, inputs, attrs, output: h, dataInput, paramInputs });
  }
  return h;
}

export function forward(tf, model, x) {
  return model.layers.reduce((h, layer) => runLayer(tf, layer, h), x);
}

/** Mean softmax cross-entropy over the batch, as simdnet's CrossEntropyLoss. */
export function lossOf(tf, logits, oneHot) {
  return tf.losses.softmaxCrossEntropy(oneHot, logits);
}

/**
 * Back through one layer's recorded kernels with each kernel's registered gradient (what
 * tf.grads would run for them), evaluating the parameter gradients and, when `needInput`, the
 * gradient for the layer's input. Returns { dx, paramGrads: [[variable, gradient]] }.
 */
export function backwardLayer(tf, entries, dy, needInput) {
  const paramGrads = [];
  let g = dy;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    const config = tf.getGradient(e.kernel);
    if (!config) throw new Error(`TensorFlow.js has no gradient registered for ${e.kernel}`);
    const saved = [
      ...(config.saveAllInputs ? Object.values(e.inputs) : (config.inputsToSave ?? []).map((k) => e.inputs[k])),
      ...(config.outputsToSave?.[0] ? [e.output] : []),
    ];
    const grads = config.gradFunc(g, saved, e.attrs);
    for (const p of e.paramInputs) paramGrads.push([e.inputs[p], grads[p]()]);
    g = i > 0 || needInput ? grads[e.dataInput]() : null;
  }
  return { dx: g, paramGrads };
}
