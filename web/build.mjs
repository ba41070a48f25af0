// build.mjs — bundle the web UI into static files the server serves.
//
//   node build.mjs --out DIR [--modules NODE_MODULES_DIR]
//
// src/main.js (plain ES modules + uPlot) and the CSS it imports are
// bundled by esbuild into DIR/assets/<name>-<hash>.{js,css}; DIR/index.html
// refers to them. Hashed names let the server cache assets forever
// ("immutable") while index.html is always revalidated.
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const out = resolve(opt('--out', join(here, 'dist')));
const modules = resolve(opt('--modules', join(here, 'node_modules')));
// esbuild comes from the node_modules that `npm ci` filled (in the build tree).
const { build } = createRequire(join(modules, '..', 'package.json'))('esbuild');

rmSync(join(out, 'assets'), { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const r = await build({
  entryPoints: [join(here, 'src/main.js')], // imports app.css, which imports uPlot's CSS
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  sourcemap: false,
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  nodePaths: [modules],
  metafile: true,
  logLevel: 'warning',
});
let js = '', css = '';
for (const f of Object.keys(r.metafile.outputs)) {
  if (f.endsWith('.js')) js = basename(f);
  else if (f.endsWith('.css')) css = basename(f);
}
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%CSS%', `/assets/${css}`)
  .replace('%JS%', `/assets/${js}`);
writeFileSync(join(out, 'index.html'), html);
console.log(`web: ${out}/index.html, assets/${js}, assets/${css}`);
