// The published declarations, as a user's TypeScript sees them: the package's .d.ts files are
// copied into a throwaway project (with package.json, so `exports` resolves as after an install)
// and type-checked with skipLibCheck off, in a Node project (@types/node, no DOM lib) and in a
// browser project (DOM lib, no @types/node); and the README's JS examples are type-checked with
// checkJs against them. The compiler is the project's own typescript dev dependency; the projects
// are written to a temporary directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, copyFileSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'simdnet-types-'));

/** Copies package.json and every .d.ts under dist/ into DEST/node_modules/simdnet. */
function installDeclarations(dest) {
  const pkg = join(dest, 'node_modules', 'simdnet');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  const copy = (rel) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) copy(path);
      else if (entry.name.endsWith('.d.ts')) {
        mkdirSync(join(pkg, rel), { recursive: true });
        copyFileSync(join(root, path), join(pkg, path));
      }
    }
  };
  copy('dist');
}

// Parsed files shared by the projects (the TypeScript libs, @types/node): parsing them is most of the work.
const parsed = new Map();
function compilerHost(options) {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    if (!fileName.includes('/node_modules/') || fileName.includes('/node_modules/simdnet/')) return getSourceFile(fileName, languageVersion, ...rest);
    const key = `${fileName}|${JSON.stringify(languageVersion)}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersion, ...rest));
    return parsed.get(key);
  };
  return host;
}

/** Type-checks `files` (name → text) in a new project under dir/name; returns the diagnostics as text. */
function check(name, files, options) {
  const project = join(dir, name);
  installDeclarations(project);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(project, file), text);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  const compilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    ...options,
  };
  const program = ts.createProgram(Object.keys(files).map((f) => join(project, f)), compilerOptions, compilerHost(compilerOptions));
  // skipLibCheck is off, so the package's .d.ts are checked as the project's own files are; only
  // those and the project's files are asked for, not the TypeScript and @types/node libs, which
  // are not this package's to fix (and take most of the time to check).
  const checked = program.getSourceFiles().filter((f) => !f.fileName.includes('/node_modules/') || f.fileName.includes('/node_modules/simdnet/'));
  const diagnostics = [
    ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => '\n' });
  const sources = program.getSourceFiles().map((f) => f.fileName);
  return { text, sources };
}

// Every entry point the package exports, and a few uses of its types.
const uses = `
import * as sn from 'simdnet';
import * as browser from 'simdnet/browser';
import * as internal from 'simdnet/internal';
await sn.ready();
const model: sn.Sequential = new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.ReLU(), new sn.Flatten(), new sn.Linear(4 * 8 * 8, 10));
const history: sn.FitHistory = await model.fit(sn.tensor(new Float32Array(2 * 64), [2, 1, 8, 8]), new Int32Array(2), { epochs: 1, verbose: 0 });
const x = sn.tensor(new Float32Array(2 * 64), [2, 1, 8, 8]);
const data = sn.data.Dataset.fromTensors(x, new Int32Array(2)).batch(2);
const onData: sn.FitHistory = await model.fit(data, { epochs: 1, verbose: 0, checkpoint: 'm.safetensors' });
const scored: { loss: number; accuracy?: number } = await model.evaluate(data);
const resnet: sn.models.CifarResNet = sn.models.resnet20({ numClasses: 10 });
const mobile: sn.models.MobileNetV2 = sn.models.mobilenetV2({ widthMult: 0.5 });
const record: sn.models.ZooRecord = { model: 'resnet20', options: { numClasses: 10 } };
export { browser, internal, history, onData, scored, resnet, mobile, record };
`;

test('the published .d.ts type-check in a Node project (@types/node, no DOM lib)', () => {
  const nodeTypes = join(dir, 'node', 'node_modules', '@types');
  mkdirSync(nodeTypes, { recursive: true });
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(nodeTypes, 'node'));
  const { text, sources } = check('node', { 'main.ts': uses }, { lib: ['lib.es2022.d.ts'], types: ['node'] });
  assert.is(text, '');
  assert.ok(sources.some((f) => f.includes('@types/node')), 'the project should see @types/node');
  assert.not.ok(sources.some((f) => f.endsWith('lib.dom.d.ts')), 'the project should not see the DOM lib');
});

test('the published .d.ts type-check in a browser project (DOM lib, no @types/node)', () => {
  // As a bundler's TypeScript template sets it up (Vite's): bundler resolution, ESNext modules.
  const { text, sources } = check('browser', { 'main.ts': uses }, {
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'], types: [],
  });
  assert.is(text, '');
  assert.not.ok(sources.some((f) => f.includes('@types/node')), 'the project should not see @types/node');
});

test("the README's JS examples type-check (checkJs) against the published .d.ts", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 2, `found ${blocks.length} js blocks in the README`);
  const files = Object.fromEntries(blocks.map((code, i) => [`readme-${i + 1}.js`, code]));
  const nodeTypes = join(dir, 'readme', 'node_modules', '@types');
  mkdirSync(nodeTypes, { recursive: true });
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(nodeTypes, 'node'));
  // Node's and the browser's globals both: the README has examples for each.
  const { text } = check('readme', files, {
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'], types: ['node'], allowJs: true, checkJs: true,
  });
  assert.is(text, '');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
