// The model zoo (sn.models) against torchvision: parity with PyTorch's float64 logits, loss,
// gradients and running statistics on every fixture of tests/fixtures/zoo (VGG-11's in
// tests/zoo-vgg.test.js, in a child process), state-dict names in PyTorch's order, torchvision's
// parameter counts and MobileNetV2 channel rounding (tests/fixtures/mobilenet_v2_widths.json), its
// initialisation as statistical checks (tests/zoo-helpers.js states the bounds), seeding, and errors
// that name the builder and option or the module path. Files: tests/zoo-files.test.js; training:
// tests/zoo-training.test.js.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as sn from 'simdnet';
import { fixtureNames, readFixture, runParity, toSimdnet, findModule } from './zoo-fixtures.js';
import { numParameters, stateValues, stateLayout, stateDifference, initReport, expectedInit, neededValues, refusedWithoutMemory } from './zoo-helpers.js';

await sn.ready();

/** The fixtures run here; VGG-11's run in a child process (tests/zoo-vgg.test.js). */
const HERE = ['mobilenet_v2', 'mobilenet_v2_0.5', 'resnet18', 'resnet20', 'resnet32', 'resnet34', 'resnet56'];
const IN_CHILD = ['vgg11', 'vgg11_bn'];

/** A copy of a model's state dict, to compare with later. */
const snapshot = (model) => Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) =>
  [k, sn.tensor(t.dtype === 'int64' ? t.toInt64Array() : t.toArray(), t.shape)]));

/** Builds, runs `f(model)` and disposes, whatever happens. */
function withModel(builder, options, f) {
  const model = sn.models[builder](options);
  try { return f(model); } finally { model.dispose(); }
}

const images = (n, side, seed = 1) => sn.tensor(Float32Array.from({ length: n * 3 * side * side }, (_, i) => Math.sin(i * 0.37 + seed) * 0.8), [n, 3, side, side]);

test('every zoo fixture is checked: here, or in the VGG child', () => {
  assert.equal(fixtureNames(), [...HERE, ...IN_CHILD, 'sequential_cnn'].sort());
});

for (const name of HERE) {
  test(`${name}: torchvision's state-dict names, shapes and order; strict load; parity with PyTorch in train and eval mode`, () => {
    const fx = readFixture(name);
    withModel(fx.simdnet.builder, fx.simdnet.options, (model) => {
      assert.equal(stateLayout(model), fx.stateDict.map((e) => [e.name, e.shape]));
      const reports = runParity(sn, model, fx);
      // Every parameter's gradient in both modes, and every running statistic after the training forward.
      const params = fx.stateDict.filter((e) => !e.buffer).length;
      const stats = fx.stateDict.filter((e) => /running_(mean|var)$/.test(e.name)).length;
      assert.is(reports.eval.length, 2 + params);
      assert.is(reports.train.length, 2 + params + stats);
    });
  });
}

test('a strict load names what does not fit, and changes nothing', () => {
  const fx = readFixture('resnet20');
  withModel('resnet20', {}, (model) => {
    const before = snapshot(model);
    const { stateDict } = toSimdnet(sn, fx);
    const missing = { ...stateDict };
    delete missing['layer3.2.bn2.running_var'];
    assert.throws(() => model.loadStateDict(missing), /missing layer3\.2\.bn2\.running_var/);
    assert.throws(() => model.loadStateDict({ ...stateDict, 'fc.weight': stateDict['linear.weight'] }), /unexpected fc\.weight/);
    const deeper = toSimdnet(sn, readFixture('resnet32')).stateDict;
    assert.throws(() => model.loadStateDict(deeper), /unexpected layer1\.3\.conv1\.weight/);
    assert.is(stateDifference(model.stateDict(), before), null);
  });
});

test("torchvision's documented parameter counts at 1000 classes, and the CIFAR ResNets' (option B)", () => {
  // torchvision.models' tables (VGG-11's in tests/zoo-vgg.test.js).
  for (const [builder, count] of [['resnet18', 11_689_512], ['resnet34', 21_797_672], ['mobilenetV2', 3_504_872]]) {
    withModel(builder, {}, (model) => {
      assert.is(numParameters(model), count, builder);
      assert.is(model.stateDict()[builder === 'mobilenetV2' ? 'classifier.1.weight' : 'fc.weight'].shape[0], 1000);
    });
  }
  // He et al.'s option A counts plus option B's two projections: what PyTorch counts for the fixture's module.
  for (const [builder, count] of [['resnet20', 272_474], ['resnet32', 466_906], ['resnet56', 855_770]]) {
    assert.is(readFixture(builder).numParameters, count, `${builder}: PyTorch's count`);
    withModel(builder, {}, (model) => assert.is(numParameters(model), count, builder));
    withModel(builder, { numClasses: 100 }, (model) => assert.is(numParameters(model), count + 90 * 65, `${builder} with 100 classes`));
  }
});

/** Each builder's options when none are given. */
const DEFAULTS = {
  resnet18: { numClasses: 1000 }, resnet34: { numClasses: 1000 }, resnet20: { numClasses: 10 }, resnet32: { numClasses: 10 },
  resnet56: { numClasses: 10 }, mobilenetV2: { numClasses: 1000, widthMult: 1 }, vgg11: { batchNorm: false, numClasses: 1000 },
};

test('a model file is checked against the state-dict values a record needs: the count equals the built model\'s', () => {
  const cases = [
    ['resnet18', {}], ['resnet34', { numClasses: 7 }], ['resnet20', {}], ['resnet32', { numClasses: 100 }], ['resnet56', { numClasses: 1 }],
    ['mobilenetV2', {}], ['mobilenetV2', { widthMult: 0.35, numClasses: 3 }], ['mobilenetV2', { widthMult: 1.4, numClasses: 10 }],
  ];
  for (const [builder, options] of cases) {
    const full = { ...DEFAULTS[builder], ...options };
    withModel(builder, options, (model) => assert.is(neededValues(sn, { model: builder, options: full }), stateValues(model), `${builder} ${JSON.stringify(options)}`));
  }
});

test("MobileNetV2's channels for other width multipliers are torchvision's (tests/fixtures/mobilenet_v2_widths.json)", () => {
  const fx = JSON.parse(readFileSync(new URL('./fixtures/mobilenet_v2_widths.json', import.meta.url), 'utf8'));
  assert.is(fx.format, 'simdnet mobilenet_v2 widths');
  const widths = fx.widths.map((w) => w.widthMult);
  for (const w of [0.35, 0.5, 0.75, 1, 1.4]) assert.ok(widths.includes(w), `width ${w} in the fixture`);
  for (const { widthMult, numParameters: count, lastChannel, shapes } of fx.widths) {
    withModel('mobilenetV2', { widthMult, numClasses: fx.numClasses }, (model) => {
      const what = `widthMult ${widthMult}`;
      assert.equal(stateLayout(model), fx.names.map((name, i) => [name, shapes[i]]), what);
      assert.is(numParameters(model), count, what);
      assert.is(model.lastChannel, lastChannel, what);
      assert.is(neededValues(sn, { model: 'mobilenetV2', options: { numClasses: fx.numClasses, widthMult } }), stateValues(model), what);
    });
  }
});

/** Models whose initialisation is checked here (VGG-11's in the child), with their seeds. */
const INIT_CASES = [
  ['resnet18', {}, 18], ['resnet20', {}, 20], ['resnet56', {}, 56],
  ['mobilenetV2', {}, 2], ['mobilenetV2', { widthMult: 0.5, numClasses: 10 }, 3],
];

test("initialisation as torchvision's: kaiming normal (fan_out or fan_in as each model does), BatchNorm 1 and 0, Linear per model", () => {
  for (const [builder, options, seed] of INIT_CASES) {
    sn.manualSeed(seed);
    withModel(builder, options, (model) => {
      const report = initReport(sn, builder, model);
      assert.equal(report.failures, [], `${builder} ${JSON.stringify(options)}`);
      assert.is(report.tensors, Object.keys(model.stateDict()).length);
      assert.ok(report.normal.values > 0.9 * numParameters(model) - 600_000, `${builder}: most values are drawn from a normal law`);
    });
  }
  // The rules themselves, on the layers where torchvision's choices differ.
  withModel('resnet18', { numClasses: 10 }, (m) => {
    assert.equal(expectedInit(sn, 'resnet18', m, 'conv1.weight', [64, 3, 7, 7]), { kind: 'normal', std: Math.sqrt(2 / (64 * 49)) });
    assert.equal(expectedInit(sn, 'resnet18', m, 'fc.bias', [10]), { kind: 'uniform', bound: 1 / Math.sqrt(512) });
  });
  withModel('mobilenetV2', { widthMult: 0.5, numClasses: 10 }, (m) => {
    // A depthwise convolution's fan_out is out_channels · k · k, not divided by its groups.
    assert.equal(m.stateDict()['features.2.conv.1.0.weight'].shape, [48, 1, 3, 3]);
    assert.equal(expectedInit(sn, 'mobilenetV2', m, 'features.2.conv.1.0.weight', [48, 1, 3, 3]), { kind: 'normal', std: Math.sqrt(2 / (48 * 9)) });
  });
  withModel('resnet20', {}, (m) => assert.equal(expectedInit(sn, 'resnet20', m, 'layer2.0.conv1.weight', [32, 16, 3, 3]), { kind: 'normal', std: Math.sqrt(2 / (16 * 9)) }));
});

test('the initialisation checks fail on a wrong initialisation: any one tensor\'s σ off by √2, uniform for normal, a narrower bound, a BatchNorm weight', () => {
  for (const [builder, options, seed] of [['resnet20', {}, 20], ['mobilenetV2', { widthMult: 0.5, numClasses: 10 }, 3]]) {
    sn.manualSeed(seed);
    withModel(builder, options, (model) => {
      assert.equal(initReport(sn, builder, model).failures, []);
      let checked = 0;
      for (const [name, t] of Object.entries(model.stateDict())) {
        if (t.size < 100 || expectedInit(sn, builder, model, name, t.shape).kind === 'constant') continue;
        for (const factor of [Math.SQRT2, Math.SQRT1_2]) {
          const { failures } = initReport(sn, builder, model, (n, v) => (n === name ? v.map((x) => x * factor) : v));
          assert.ok(failures.some((f) => f.startsWith(`${name}: `) && f.includes('std ratio')), `${builder}: ${name} × ${factor.toFixed(3)} passed: ${failures.join('; ')}`);
        }
        checked++;
      }
      assert.ok(checked >= (builder === 'resnet20' ? 22 : 50), `${checked} tensors`);
      // The same σ, but uniform: the fourth moment is 1.8, not 3.
      const uniform = initReport(sn, builder, model, (n, v) => {
        const e = expectedInit(sn, builder, model, n, model.stateDict()[n].shape);
        if (e.kind !== 'normal') return v;
        return v.map((_, i) => (((i * 2654435761) >>> 0) / 2 ** 32 * 2 - 1) * Math.sqrt(3) * e.std);
      });
      assert.ok(uniform.failures.some((f) => f.includes('E[(w/σ)⁴]')), uniform.failures.join('; '));
      // A BatchNorm weight that is not 1.
      const bn = initReport(sn, builder, model, (n, v) => (n.endsWith('.weight') && v.length && v[0] === 1 ? v.map((x, i) => (i === 1 ? 1.001 : x)) : v));
      assert.ok(bn.failures.some((f) => /weight: expected every value 1, got 1\.001/.test(f)), bn.failures.join('; '));
    });
  }
  sn.manualSeed(18);
  withModel('resnet18', {}, (model) => {
    // PyTorch's Linear default U(±1/√512) on fc: drawn from a narrower range, the largest value gives it away.
    const { failures } = initReport(sn, 'resnet18', model, (n, v) => (n === 'fc.weight' ? v.map((x) => x * 0.9) : v));
    assert.ok(failures.some((f) => f.startsWith('fc.weight: ') && f.includes('well inside the bound')), failures.join('; '));
    // kaiming_normal_ with fan_in where torchvision uses fan_out: layer2.0.conv1 has twice as many outputs as inputs.
    const { failures: fanIn } = initReport(sn, 'resnet18', model, (n, v) => (n === 'layer2.0.conv1.weight' ? v.map((x) => x * Math.SQRT2) : v));
    assert.ok(fanIn.some((f) => f.startsWith('layer2.0.conv1.weight: ')), fanIn.join('; '));
  });
});

test('sn.manualSeed(s) gives the same weights twice, another seed other weights', () => {
  for (const [builder, options] of [['resnet20', {}], ['mobilenetV2', { widthMult: 0.5, numClasses: 10 }], ['resnet18', { numClasses: 10 }]]) {
    sn.manualSeed(5);
    const a = sn.models[builder](options);
    sn.manualSeed(5);
    const b = sn.models[builder](options);
    sn.manualSeed(6);
    const c = sn.models[builder](options);
    try {
      assert.is(stateDifference(a.stateDict(), b.stateDict()), null, builder);
      const sa = a.stateDict(), sc = c.stateDict();
      let random = 0;
      for (const name of Object.keys(sa)) {
        if (expectedInit(sn, builder, a, name, sa[name].shape).kind === 'constant') continue;
        const x = sa[name].toArray(), y = sc[name].toArray();
        const same = x.filter((v, i) => v === y[i]).length;
        assert.ok(same <= Math.max(1, x.length / 100), `${builder} ${name}: ${same} of ${x.length} values equal under another seed`);
        random++;
      }
      assert.ok(random > 20, `${builder}: ${random} random tensors`);
    } finally {
      a.dispose(); b.dispose(); c.dispose();
    }
  }
});

test('bad builder options: an Error naming the builder, the option and the value, before anything is allocated', () => {
  const cases = [
    ['resnet18', { numClasses: 0 }, /^sn\.models\.resnet18: numClasses must be a positive integer, got 0$/],
    ['resnet34', { numClasses: 2.5 }, /^sn\.models\.resnet34: numClasses must be a positive integer, got 2\.5$/],
    ['resnet20', { numClasses: '10' }, /^sn\.models\.resnet20: numClasses must be a positive integer, got the string '10'$/],
    ['resnet32', { numclasses: 3 }, /^sn\.models\.resnet32: unknown option 'numclasses'; did you mean 'numClasses'\?/],
    ['resnet56', 10, /^sn\.models\.resnet56: options must be an object \{ numClasses\? \}, got 10$/],
    ['resnet20', null, /^sn\.models\.resnet20: options must be an object/],
    ['resnet20', JSON.parse('{"__proto__": {"numClasses": 3}}'), /^sn\.models\.resnet20: unknown option '__proto__'/],
    ['mobilenetV2', { widthMult: -1 }, /^sn\.models\.mobilenetV2: widthMult must be a finite number > 0, got -1$/],
    ['mobilenetV2', { widthMult: 0 }, /^sn\.models\.mobilenetV2: widthMult must be a finite number > 0, got 0$/],
    ['mobilenetV2', { widthMult: NaN }, /^sn\.models\.mobilenetV2: widthMult must be a finite number > 0, got NaN$/],
    ['mobilenetV2', { widthMult: Infinity }, /^sn\.models\.mobilenetV2: widthMult must be a finite number > 0, got Infinity$/],
    ['mobilenetV2', { widthMult: '0.5' }, /^sn\.models\.mobilenetV2: widthMult must be a finite number > 0, got the string '0\.5'$/],
    ['mobilenetV2', { width: 0.5 }, /^sn\.models\.mobilenetV2: unknown option 'width'/],
    ['vgg11', { batchNorm: 'yes' }, /^sn\.models\.vgg11: batchNorm must be a boolean \(true or false\), got the string 'yes'$/],
    ['vgg11', { batchNorm: 1 }, /^sn\.models\.vgg11: batchNorm must be a boolean/],
    ['vgg11', { numClasses: -3 }, /^sn\.models\.vgg11: numClasses must be a positive integer, got -3$/],
  ];
  for (const [builder, options, message] of cases) {
    const what = `sn.models.${builder}(${String(JSON.stringify(options))})`;
    assert.match(refusedWithoutMemory(() => sn.models[builder](options), what), message, what);
  }
});

test('options that make a model no wasm memory can hold are refused before anything is allocated, naming the builder and options', () => {
  // mobilenetV2 with widthMult 12 takes 2.5 GB; 16 would take 4.4 GB and used to grow the memory to
  // its 4 GiB limit before failing on some Conv2d weight, leaving the process without memory.
  const cases = [
    ['mobilenetV2', { widthMult: 16, numClasses: 10 }, /^sn\.models\.mobilenetV2: the options \{"numClasses":10,"widthMult":16\} make a model of 546,253,886 weight and buffer values, 4\.1 GiB with the gradients, more than the 4\.0 GiB a wasm memory can hold$/],
    ['mobilenetV2', { widthMult: 1e300 }, /^sn\.models\.mobilenetV2: the options \{"numClasses":1000,"widthMult":1e\+300\} make a model of more weights than can be counted, more than the 4\.0 GiB/],
    ['resnet18', { numClasses: 2 ** 20 }, /^sn\.models\.resnet18: the options \{"numClasses":1048576\} make a model of 549,105,620 weight and buffer values, 4\.1 GiB with the gradients/],
    ['resnet20', { numClasses: 1e9 }, /^sn\.models\.resnet20: the options \{"numClasses":1000000000\} make a model of 65,000,273,413 weight and buffer values, 484\.3 GiB with the gradients/],
    ['vgg11', { numClasses: 2 ** 18, batchNorm: true }, /^sn\.models\.vgg11: the options \{"batchNorm":true,"numClasses":262144\} make a model of 1,202,781,320 weight and buffer values, 9\.0 GiB with the gradients/],
  ];
  for (const [builder, options, message] of cases) {
    const what = `sn.models.${builder}(${JSON.stringify(options)})`;
    assert.match(refusedWithoutMemory(() => sn.models[builder](options), what), message, what);
  }
});

test('an input the model cannot take: an Error naming the module path, before anything runs', () => {
  withModel('resnet20', {}, (model) => {
    const before = snapshot(model);
    assert.throws(() => model.forward(sn.tensor(new Float32Array(2 * 32 * 32), [2, 1, 32, 32])),
      /^conv1 \(Conv2d\(3, 16, kernel_size=\(3, 3\).*\): expected input of shape \[N, 3, H, W\], got \[2, 1, 32, 32\]$/);
    assert.throws(() => model.forward(sn.tensor(new Float32Array(3 * 32 * 32), [3, 32, 32])), /^conv1 \(Conv2d\(3, 16, .*got \[3, 32, 32\]$/);
    assert.is(stateDifference(model.stateDict(), before), null, 'nothing ran');
    // A block's convolution replaced by one of the wrong width: named by its path through the stages.
    findModule(model, 'layer2.1').conv1 = new sn.Conv2d(16, 32, 3, { padding: 1, bias: false });
    assert.throws(() => model.forward(images(2, 32)), /^layer2\.1\.conv1 \(Conv2d\(16, 32, .*\): expected input of shape \[N, 16, H, W\], got \[2, 32, 16, 16\]$/);
  });
  withModel('resnet18', { numClasses: 10 }, (model) => {
    // One 32×32 image reaches layer4 as a single value per channel: BatchNorm cannot train on it (as PyTorch).
    const before = snapshot(model);
    assert.throws(() => model.forward(images(1, 32)),
      /^layer4\.0\.bn1 \(BatchNorm2d\(512, .*\): expected more than 1 value per channel when training, got input of shape \[1, 512, 1, 1\]$/);
    assert.is(stateDifference(model.stateDict(), before), null, 'no running statistic moved: the dry run refused it first');
    model.eval();
    assert.equal(model.forward(images(1, 32)).shape, [1, 10], 'in eval mode it runs, as in PyTorch');
  });
  withModel('mobilenetV2', { widthMult: 0.5, numClasses: 10 }, (model) => {
    assert.throws(() => model.forward(sn.tensor(new Float32Array(2 * 4 * 8 * 8), [2, 4, 8, 8])), /^features\.0\.0 \(Conv2d\(3, 16, .*got \[2, 4, 8, 8\]$/);
  });
});

test.run();
