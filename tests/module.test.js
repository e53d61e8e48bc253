// Modules of your own, PyTorch style: children, parameters and buffers registered by property in
// assignment order, so state-dict names are PyTorch's; ModuleList, Identity, registerBuffer; the
// traversals' guards against cycles and runaway depth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { BasicBlock } from './modules.js';

await sn.ready();

/** The error a call throws (fails the test when it does not throw). */
function thrown(f) {
  try { f(); } catch (e) { return e; }
  assert.unreachable('expected an Error');
}

const BN_NAMES = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];

test('state-dict names are PyTorch\'s: properties in assignment order, Sequential and ModuleList indexes', () => {
  const block = new BasicBlock(4, 8, 2);
  assert.equal(Object.keys(block.stateDict()), [
    'conv1.weight', ...BN_NAMES.map((n) => `bn1.${n}`), 'conv2.weight', ...BN_NAMES.map((n) => `bn2.${n}`),
    'shortcut.0.weight', ...BN_NAMES.map((n) => `shortcut.1.${n}`),
  ]);
  assert.equal(Object.keys(new BasicBlock(4, 4).stateDict()).filter((k) => k.startsWith('shortcut')), [], 'Identity holds nothing');

  // ResNet-style nesting: a Sequential of blocks, and a ModuleList.
  class Net extends sn.Module {
    constructor() {
      super();
      this.stem = new sn.Conv2d(3, 4, 3, { padding: 1 });
      this.layer1 = new sn.Sequential(new BasicBlock(4, 4), new BasicBlock(4, 4));
      this.heads = new sn.ModuleList([new sn.Linear(4, 2), new sn.Linear(4, 3)]);
    }
  }
  const net = new Net();
  const names = Object.keys(net.stateDict());
  assert.equal(names.slice(0, 3), ['stem.weight', 'stem.bias', 'layer1.0.conv1.weight']);
  assert.ok(names.includes('layer1.0.bn1.running_var') && names.includes('layer1.1.conv2.weight'));
  assert.equal(names.slice(-4), ['heads.0.weight', 'heads.0.bias', 'heads.1.weight', 'heads.1.bias']);
  assert.equal(net.namedParameters().map(([n]) => n).filter((n) => n.startsWith('heads')), ['heads.0.weight', 'heads.0.bias', 'heads.1.weight', 'heads.1.bias']);
  assert.equal(net.namedBuffers().map(([n]) => n)[0], 'layer1.0.bn1.running_mean');
  assert.equal(net.namedModules().map(([n]) => n).slice(0, 5), ['', 'stem', 'layer1', 'layer1.0', 'layer1.0.conv1']);
  assert.is(net.parameters().length, 2 + 2 * 6 + 4);
  assert.is(net.parameterCount(), (3 * 4 * 9 + 4) + 2 * (2 * 4 * 4 * 9 + 2 * 8) + (4 * 2 + 2) + (4 * 3 + 3));
  net.dispose();
  block.dispose();
});

test('train() and eval() reach every module of a custom one, nested containers included', () => {
  const block = new BasicBlock(2, 4, 2);
  block.eval();
  assert.ok(block.modules().every((m) => m.training === false));
  assert.is(block.modules().length, 1 + 4 + 1 + 2);
  block.train();
  assert.ok(block.modules().every((m) => m.training === true));
  block.dispose();
});

test('parameters assigned as properties and registered by name; a shared parameter is listed once', () => {
  class Scaled extends sn.Module {
    constructor() {
      super();
      this.fc = new sn.Linear(3, 2);
      this.gain = new sn.Parameter([2], Float32Array.of(1, 2));
      this.registerParameter('offset', new sn.Parameter([2]));
      this.registerParameter('unused', null);
      this.tied = this.gain;
    }
  }
  const m = new Scaled();
  // Own parameters first (registered by name, then properties in assignment order), then children, as PyTorch.
  assert.equal(Object.keys(m.stateDict()), ['offset', 'gain', 'tied', 'fc.weight', 'fc.bias']);
  assert.is(m.parameters().length, 4, 'gain and tied are one parameter');
  assert.ok(m.offset instanceof sn.Parameter, 'a registered parameter is readable as a property');
  assert.is(m.unused, null);
  const replacement = new sn.Parameter([2], Float32Array.of(5, 6));
  m.offset = replacement;
  assert.is(m.stateDict().offset, replacement.data, 'assigning the property replaces the registered parameter');
  m.dispose();
  assert.throws(() => m.gain.zeroGrad(), /memory was released/, 'dispose() released the property parameters');
});

test('registerBuffer copies the values into the module, is saved and loaded, and is freed with it', () => {
  class WithBuffers extends sn.Module {
    constructor() {
      super();
      this.fc = new sn.Linear(2, 2);
      this.registerBuffer('mask', sn.tensor([1, 0, 1, 0], [2, 2]));
      this.registerBuffer('steps', sn.tensor(BigInt64Array.of(3n), []));
      this.registerBuffer('none', null);
    }
  }
  const inUse = rt().heap.bytesInUse;
  const m = new WithBuffers();
  assert.equal(Object.keys(m.stateDict()), ['mask', 'steps', 'fc.weight', 'fc.bias']);
  assert.ok(m.mask.onDevice, 'a float32 buffer lives in wasm memory');
  assert.equal([...m.mask.toArray()], [1, 0, 1, 0]);
  assert.is(m.steps.dtype, 'int64');
  assert.is(m.none, null);
  assert.equal(m.namedBuffers().map(([n]) => n), ['mask', 'steps']);
  m.loadStateDict({ ...m.stateDict(), mask: sn.tensor([0, 1, 0, 1], [2, 2]), steps: sn.tensor(BigInt64Array.of(7n), []) });
  assert.equal([...m.mask.toArray()], [0, 1, 0, 1]);
  assert.is(m.steps.toInt64Array()[0], 7n);
  // Assigning the property registers the new values.
  m.mask = sn.tensor([2, 2, 2, 2], [2, 2]);
  assert.equal([...m.stateDict().mask.toArray()], [2, 2, 2, 2]);
  const copy = new WithBuffers();
  copy.loadStateDict(m.stateDict());
  assert.equal([...copy.mask.toArray()], [2, 2, 2, 2]);
  m.dispose(); copy.dispose();
  assert.is(rt().heap.bytesInUse, inUse, 'dispose() released the buffers');
});

test('registerBuffer and registerParameter refuse bad names and values, naming the class', () => {
  class M extends sn.Module { constructor() { super(); this.fc = new sn.Linear(1, 1); } }
  const m = new M();
  assert.match(thrown(() => m.registerBuffer('a.b', sn.tensor([1]))).message, /^M\.registerBuffer: name must be a non-empty string without '\.', got the string 'a\.b'$/);
  assert.match(thrown(() => m.registerBuffer('', sn.tensor([1]))).message, /^M\.registerBuffer: name must be a non-empty string without '\.', got an empty string$/);
  assert.match(thrown(() => m.registerBuffer('fc', sn.tensor([1]))).message, /^M\.registerBuffer: this module already has a property "fc"$/);
  assert.match(thrown(() => m.registerBuffer('x', [1, 2])).message, /^M\.registerBuffer: tensor must be a Tensor, got an Array of 2 numbers; wrap it with sn\.tensor\(data, shape\)$/);
  assert.match(thrown(() => m.registerParameter('p', sn.tensor([1]))).message, /^M\.registerParameter: expected a Parameter or null, got a float32 Tensor of shape \[1\]$/);
  assert.equal(Object.keys(m.stateDict()), ['fc.weight', 'fc.bias'], 'nothing was registered');
  m.dispose();
});

test('a plain array of modules is refused with advice, as PyTorch would not register it', () => {
  class Listed extends sn.Module {
    constructor() { super(); this.blocks = [new sn.Linear(2, 2), new sn.Linear(2, 2)]; }
  }
  const m = new Listed();
  for (const call of [() => m.parameters(), () => m.stateDict(), () => m.eval()]) {
    assert.match(thrown(call).message, /^Listed: property "blocks" holds an array of modules, which is not registered \(as in PyTorch\): .*use sn\.ModuleList \(this\.blocks = new sn\.ModuleList\(\[\.\.\.\]\)\) or sn\.Sequential$/);
  }
  // An array of other things is just data.
  class Data extends sn.Module { constructor() { super(); this.sizes = [1, 2]; this.fc = new sn.Linear(1, 1); } }
  assert.equal(Object.keys(new Data().stateDict()), ['fc.weight', 'fc.bias']);
});

test('a module reachable twice is visited once; a cycle does not loop; nesting past 256 levels names the path', () => {
  const shared = new sn.Linear(2, 2);
  class Two extends sn.Module { constructor() { super(); this.a = shared; this.b = shared; } }
  const two = new Two();
  assert.equal(Object.keys(two.stateDict()), ['a.weight', 'a.bias'], 'the second path to the same module is not repeated');
  assert.is(two.parameters().length, 2);

  class Loop extends sn.Module { constructor() { super(); this.fc = new sn.Linear(1, 1); } }
  const loop = new Loop();
  loop.self = loop;
  loop.fc.back = loop;
  assert.equal(Object.keys(loop.stateDict()), ['fc.weight', 'fc.bias']);
  loop.eval();
  assert.is(loop.fc.training, false);

  class Node extends sn.Module {}
  const root = new Node();
  let at = root;
  for (let i = 0; i < 300; i++) { at.next = new Node(); at = at.next; }
  const error = thrown(() => root.parameters());
  assert.not.instance(error, RangeError);
  assert.match(error.message, /^Node: modules are nested more than 256 deep \(at next\.next\.next\..*\)/);
});

test('ModuleList: push, at, length, iteration, names; no forward of its own', () => {
  const list = new sn.ModuleList([new sn.Linear(2, 3)]);
  list.push(new sn.ReLU()).append(new sn.Linear(3, 1));
  assert.is(list.length, 3);
  assert.instance(list.at(-1), sn.Linear);
  assert.equal([...list].map((m) => m.constructor.name), ['Linear', 'ReLU', 'Linear']);
  assert.equal(Object.keys(list.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.is(String(list), 'ModuleList(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n  (2): Linear(in_features=3, out_features=1, bias=True)\n)');
  assert.is(list.label(), 'ModuleList (3 modules)');
  assert.match(thrown(() => list.forward(sn.tensor([1, 2], [1, 2]))).message, /a ModuleList has no forward\(\) \(as in PyTorch\)/);
  assert.match(thrown(() => list.push(new sn.ReLU(), {})).message, /^ModuleList\.push: argument 1 must be a Module, got an empty object$/);
  assert.is(list.length, 3, 'a refused push adds nothing');
  assert.match(thrown(() => new sn.ModuleList(5)).message, /^ModuleList: expected an array \(or another iterable\) of modules, got 5$/);
  list.dispose();
});

test('a custom module prints as PyTorch does; its label is the class name', () => {
  const block = new BasicBlock(2, 2);
  const text = String(block);
  assert.ok(text.startsWith('BasicBlock(\n  (conv1): Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n  (bn1): BatchNorm2d(2,'), text);
  assert.ok(text.endsWith('  (shortcut): Identity()\n)'), text);
  assert.is(block.label(), 'BasicBlock');
  class Empty extends sn.Module {}
  assert.is(String(new Empty()), 'Empty()');
  block.dispose();
});

test.run();
