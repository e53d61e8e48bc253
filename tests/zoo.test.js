// The model zoo (sn.models): errors that name the builder and option, or the module path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

await sn.ready();

/** Runs f, which must throw; returns the message, and asserts no wasm memory was taken or grown. */
function refusedWithoutMemory(f, what) {
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  let message = null;
  try { f(); } catch (err) { message = err.message; }
  assert.ok(message !== null, `${what}: not refused`);
  assert.is(rt().heap.bytesInUse, inUse, `${what}: wasm memory taken`);
  assert.is(rt().heap.bytesReserved, reserved, `${what}: wasm memory grown`);
  return message;
}

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

test.run();
