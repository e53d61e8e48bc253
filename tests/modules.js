// Modules of one's own shared by the tests: the residual block of the README and of the issue that
// asked for modules beyond Sequential, as a PyTorch user writes it, and a module whose parameters
// are an op's inputs.
import * as sn from 'simdnet';

/**
 * relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut a 1×1 projection with BatchNorm
 * where the shape changes and an Identity elsewhere (so x is used twice).
 */
export class BasicBlock extends sn.Module {
  constructor(inC, outC, stride = 1) {
    super();
    this.conv1 = new sn.Conv2d(inC, outC, 3, { stride, padding: 1, bias: false });
    this.bn1 = new sn.BatchNorm2d(outC);
    this.conv2 = new sn.Conv2d(outC, outC, 3, { padding: 1, bias: false });
    this.bn2 = new sn.BatchNorm2d(outC);
    this.shortcut = stride !== 1 || inC !== outC
      ? new sn.Sequential(new sn.Conv2d(inC, outC, 1, { stride, bias: false }), new sn.BatchNorm2d(outC))
      : new sn.Identity();
  }
  forward(x) {
    const y = this.bn2.forward(this.conv2.forward(sn.relu(this.bn1.forward(this.conv1.forward(x)))));
    return sn.relu(sn.add(y, this.shortcut.forward(x)));
  }
}

/**
 * A module whose parameters are an op's inputs, so that backward(dy) gives dL/d(input) as the
 * parameters' gradients: forward() runs `fn` on them.
 */
export class OpModule extends sn.Module {
  constructor(values, shapes, fn) {
    super();
    this.count = shapes.length;
    shapes.forEach((s, i) => this.registerParameter(`p${i}`, new sn.Parameter(s, Float32Array.from(values[i]))));
    this.fn = fn;
  }
  forward() { return this.fn(...Array.from({ length: this.count }, (_, i) => this[`p${i}`])); }
}
