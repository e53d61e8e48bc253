// The kernel table is typed from the build (scripts/embed-wasm.js writes ts/runtime/embedded/kernels.ts
// from asc's bindings): a misspelt kernel, or a call or thread task with an argument left out or one
// too many, must fail the type-check. Each `@ts-expect-error` below must meet an error, or tsc
// reports the directive as unused and this test fails; the correct lines must pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

test('the kernel table and thread tasks are typed: misspelt kernels and wrong argument counts fail tsc', () => {
  mkdirSync(join(root, 'tests', 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, 'tests', 'tmp', 'kernel-types-'));
  try {
    writeFileSync(join(dir, 'calls.ts'), `
import type { Kernels } from '../../../ts/runtime/index.js';
import type { Task } from '../../../ts/runtime/threads.js';
import type { ConvArgs } from '../../../ts/layers/conv-threads.js';
export function calls(k: Kernels, sizes: ConvArgs): Task[] {
  k.conv2dForward(0, 0, 0, 0, ...sizes, 0, 0);
  k.reluForward(0, 0, 16);
  // @ts-expect-error: no such kernel
  k.conv2dForwrd(0, 0, 0, 0, ...sizes, 0, 0);
  // @ts-expect-error: the GEMM scratch left out
  k.conv2dForward(0, 0, 0, 0, ...sizes, 0);
  // @ts-expect-error: one argument too many
  k.reluForward(0, 0, 16, 1);
  const ok: Task = { kernel: 'conv2dInputGrad', args: [0, 0, 0, ...sizes, 0, 0] };
  // @ts-expect-error: a task whose arguments are one short
  const short: Task = { kernel: 'conv2dInputGrad', args: [0, 0, 0, ...sizes, 0] };
  // @ts-expect-error: a task naming no kernel of the build
  const none: Task = { kernel: 'conv2dInputGrads', args: [0, 0, 0, ...sizes, 0, 0] };
  return [ok, short, none];
}
`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: '../../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../../..' }, include: ['calls.ts'],
    }));
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    assert.is(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
