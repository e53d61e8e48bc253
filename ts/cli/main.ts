#!/usr/bin/env node
// The simdnet command: `simdnet train|eval|predict|summary|features|export|bench`.
import { readFileSync } from 'node:fs';
import { ready } from '../runtime/wasm.js';
// A model file may name any built-in layer: each registers itself when loaded.
import '../layers/builtin.js';
import { COMMAND_HELP, UsageError, commandHelp, help, optionsOf, parse } from './options.js';
import { evaluateCommand, exportCommand, featuresCommand, predictCommand, summaryCommand, train } from './commands.js';
import { provideModelMethods } from '../module.js';
import { modelMethodImplementations } from '../model-ops.js';

// model.fit, model.summary, ... (index.ts binds them for the package; the command imports modules directly).
provideModelMethods(modelMethodImplementations);

const COMMANDS: Record<string, (v: ReturnType<typeof parse>['values']) => Promise<void>> = {
  train, eval: evaluateCommand, predict: predictCommand, summary: summaryCommand, features: featuresCommand,
  export: exportCommand,
};

/**
 * A reader that goes away (`simdnet summary | head -1`) ends the command at once and quietly, with
 * exit code 0, as SIGPIPE ends a C program. Node ignores SIGPIPE and reports the closed pipe as an
 * EPIPE 'error' event on the stream, which would otherwise end the process with a stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && stream === process.stdout) process.stderr.write(`simdnet: cannot write the output: ${err.message}\n`);
      process.exit(err.code === 'EPIPE' ? 0 : 1);
    });
  }
}

/** The version in simdnet's package.json, two levels up from dist/cli/ as the package ships. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * `simdnet bench` runs the harness in bench/ (shipped beside dist/), which has options of its own
 * and must choose the wasm build before anything loads it, so it goes there before `ready()`.
 */
async function bench(argv: string[]): Promise<number> {
  const harness = new URL('../../bench/main.js', import.meta.url);
  let run: (argv: string[]) => Promise<number>;
  try {
    ({ main: run } = await import(harness.href) as { main: (argv: string[]) => Promise<number> });
  } catch (err) {
    process.stderr.write(`simdnet bench: cannot load the benchmark harness (${harness.pathname}): ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return await run(argv);
  } catch (err) {
    process.stderr.write(`simdnet bench: ${(err as Error).message}\n`);
    return 1;
  }
}

/** An own-property lookup: 'constructor' or 'toString' must be an unknown command, not Object's. */
const isCommand = (name: string) => Object.hasOwn(COMMANDS, name);

const helpHint = (command: string | undefined) =>
  (command !== undefined && isCommand(command) ? `simdnet ${command} --help lists its options.` : 'simdnet --help lists the commands.');

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'bench') return bench(argv.slice(1));
  let parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`simdnet: ${(err as Error).message}\n${helpHint(argv[0])}\n`);
    return 2;
  }
  const { values, extra } = parsed;
  if (values.version) { process.stdout.write(`${version()}\n`); return 0; }
  // simdnet help [command], simdnet [command] --help
  const helpFor = parsed.command === 'help' ? extra[0] : values.help ? parsed.command : null;
  if (parsed.command === 'help' || values.help) {
    if (helpFor === undefined || helpFor === null) { process.stdout.write(help()); return 0; }
    if (Object.hasOwn(COMMAND_HELP, helpFor)) { process.stdout.write(commandHelp(helpFor)); return 0; }
    if (helpFor === 'bench') return bench(['--help']);
    process.stderr.write(`simdnet: unknown command '${helpFor}'\n\n${help()}`);
    return 2;
  }
  const command = parsed.command ?? 'train';
  if (!isCommand(command)) { process.stderr.write(`simdnet: unknown command '${command}'\n\n${help()}`); return 2; }
  if (extra.length) { process.stderr.write(`simdnet: unexpected argument '${extra[0]}'\n${helpHint(command)}\n`); return 2; }
  const takes = optionsOf(command);
  const foreign = Object.keys(values).find((name) => !takes.includes(name));
  if (foreign !== undefined) {
    process.stderr.write(`simdnet ${command}: --${foreign} is not an option of ${command} (it takes ${takes.map((o) => `--${o}`).join(', ')})\n${helpHint(command)}\n`);
    return 2;
  }
  try {
    await ready();
    await COMMANDS[command](values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) { process.stderr.write(`simdnet ${command}: ${err.message}\n${helpHint(command)}\n`); return 2; }
    process.stderr.write(`simdnet ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

endQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
