// Every built-in layer type, imported for the registration each one makes when it loads (see
// ts/registry.ts): a model file may name any of them, so whatever loads files (the package's
// entry, the command line) imports this, and a bundle that keeps the loader keeps them all.
import '../sequential.js';
import './adaptive-avgpool2d.js';
import './avgpool2d.js';
import './batchnorm.js';
import './conv2d.js';
import './dropout.js';
import './elu.js';
import './flatten.js';
import './gelu.js';
import './hardswish.js';
import './identity.js';
import './leaky-relu.js';
import './linear.js';
import './maxpool2d.js';
import './relu.js';
import './relu6.js';
import './sigmoid.js';
import './silu.js';
import './softmax.js';
import './tanh.js';
