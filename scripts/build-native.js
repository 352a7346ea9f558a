#!/usr/bin/env node
// Builds the native addon (native/*.cc through binding.gyp) with node-gyp. Run by `npm install` /
// `npm ci` (the package's own `install` script) and by the portable-build test.
//
// The C++ side of the op table (native/ops.js) is generated into the build directory first
// (scripts/native-ops.js).
//
// The GEMM comes from OpenBLAS when its cblas.h and library are found and a probe program links
// against them; otherwise the addon uses its portable built-in GEMM. An install never fails for
// lack of a library or compiler: it warns and the project then runs on tfjs's `cpu` backend.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { writeHeaders } = require('./native-ops');

const ROOT = path.resolve(__dirname, '..');
const ADDON = path.join('build', 'Release', 'deepfusion.node');
/** Where the install records what it built, for `deepfusion --version` and the loader. */
const REPORT = path.join(ROOT, 'build', 'native-build.json');
const PORTABLE_DIR = path.join(ROOT, 'build-portable');

const USAGE = `Usage: node scripts/build-native.js [--variant auto|openblas|portable] [--out DIR] [--no-bf16] [--strict]

Builds the deepfusion native addon with node-gyp.
  --variant auto      OpenBLAS when found (cblas.h + libopenblas), else the portable GEMM (default)
  --variant openblas  require OpenBLAS
  --variant portable  the built-in GEMM only, no BLAS library
  --out DIR           build in DIR (the addon lands in DIR/${ADDON}); default: the package root.
                      With the default, an OpenBLAS build is followed by a portable build in
                      build-portable/ without bf16 products: the tests' stand-in for a
                      machine without OpenBLAS and without AVX512-BF16.
  --no-bf16           leave out the bf16 GEMM (as on a CPU without AVX512-BF16), whatever this CPU has
  --strict            exit non-zero when the build fails (default: warn and exit 0, so that
                      'npm install' succeeds and the project falls back to the cpu backend)
Environment: OPENBLAS_INCLUDE (the directory of cblas.h) and OPENBLAS_LIBDIR (of libopenblas; default
  the include directory's ../lib) point at a non-standard OpenBLAS install. When set, they are the
  only place searched, so OPENBLAS_INCLUDE=/nonexistent builds as a machine without OpenBLAS would.`;

function parseArgs(argv) {
  const opts = { variant: 'auto', out: null, strict: false, bf16: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--variant') opts.variant = argv[++i];
    else if (a === '--out') opts.out = path.resolve(argv[++i]);
    else if (a === '--strict') opts.strict = true;
    else if (a === '--no-bf16') opts.bf16 = false;
    else throw new Error(`unknown argument "${a}"\n\n${USAGE}`);
  }
  if (!['auto', 'openblas', 'portable'].includes(opts.variant)) {
    throw new Error(`--variant must be auto, openblas or portable, got "${opts.variant}"`);
  }
  return opts;
}

function log(msg) {
  console.error(`[deepfusion native] ${msg}`);
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function compiler() {
  return process.env.CXX || 'c++';
}

/** Compiles (and links) a probe program; true when it builds. */
function probe(source, args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-probe-'));
  try {
    const file = path.join(dir, 'probe.cc');
    fs.writeFileSync(file, source);
    return run(compiler(), [file, '-o', path.join(dir, 'probe'), ...args], dir).ok;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Tuning for the build machine (the addon is always built where it runs), if the compiler takes
 * it. With -march=native the compiler targets AVX512-BF16 exactly where the CPU has it, which
 * builds the bf16 GEMM (native/gemm_bf16.cc); `bf16: false` turns it off, as on a CPU without.
 */
function archFlags(bf16 = true) {
  for (const flag of ['-march=native', '-mcpu=native']) {
    if (!probe('int main() { return 0; }\n', [flag])) continue;
    if (!bf16 && probe('int main() { return 0; }\n', [flag, '-mno-avx512bf16'])) return `${flag} -mno-avx512bf16`;
    return flag;
  }
  return '';
}

const BLAS_PROBE = `#include <cblas.h>
int main() {
  float a[1] = {1}, b[1] = {2}, c[1] = {0};
  openblas_set_num_threads(1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.f, a, 1, b, 1, 0.f, c, 1);
  return openblas_get_config() != 0 && c[0] == 2.f ? 0 : 1;
}
`;

function pkgConfigDirs() {
  const r = run('pkg-config', ['--cflags-only-I', '--libs-only-L', 'openblas'], ROOT);
  if (!r.ok) return [];
  const inc = /-I(\S+)/.exec(r.output);
  const lib = /-L(\S+)/.exec(r.output);
  return inc && lib ? [{ include: inc[1], libdir: lib[1] }] : [];
}

/** OpenBLAS include and library directories that a probe program builds with, or null. */
function findOpenBlas() {
  const candidates = [];
  const { OPENBLAS_INCLUDE: include, OPENBLAS_LIBDIR: libdir } = process.env;
  if (include || libdir) {
    // An explicit location is the only one: the user chose it (or chose none, to test a build without it).
    const dir = include || path.join(libdir, '..', 'include');
    candidates.push({ include: dir, libdir: libdir || path.join(dir, '..', 'lib') });
    return candidates.find((c) => fs.existsSync(path.join(c.include, 'cblas.h')) &&
      probe(BLAS_PROBE, [`-I${c.include}`, `-L${c.libdir}`, `-Wl,-rpath,${c.libdir}`, '-lopenblas'])) ?? null;
  }
  candidates.push(...pkgConfigDirs());
  const multiarch = `${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  for (const prefix of ['/usr', '/usr/local', '/opt/homebrew/opt/openblas', '/usr/local/opt/openblas', '/opt/OpenBLAS']) {
    for (const [inc, lib] of [
      [`include/${multiarch}/openblas-pthread`, `lib/${multiarch}/openblas-pthread`],
      [`include/${multiarch}`, `lib/${multiarch}`],
      ['include/openblas', 'lib'],
      ['include', 'lib'],
      ['include', 'lib64'],
    ]) {
      candidates.push({ include: path.join(prefix, inc), libdir: path.join(prefix, lib) });
    }
  }
  for (const c of candidates) {
    if (!fs.existsSync(path.join(c.include, 'cblas.h'))) continue;
    if (probe(BLAS_PROBE, [`-I${c.include}`, `-L${c.libdir}`, `-Wl,-rpath,${c.libdir}`, '-lopenblas'])) return c;
  }
  return null;
}

/** node-gyp's entry script: npm's own (npm puts it on PATH for scripts), else the one beside node. */
function nodeGypCommand() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, process.env.npm_config_node_gyp];
  }
  const bundled = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
    'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

/** Node's headers beside the running node (Debian/NodeSource and official tarballs ship them), so no download is needed. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The compiler's error lines (else the end of the log): what a reader needs to fix the build. */
function errorLines(output) {
  const lines = output.split('\n');
  const errors = lines.filter((l) => /\berror\b/i.test(l) && !/^gyp ERR!/.test(l));
  return (errors.length > 0 ? errors : lines).slice(-15).join('\n');
}

/** Runs node-gyp configure + build in `dir`; returns the addon path or throws with the log tail. */
function gypBuild(dir, variables) {
  const [cmd, ...pre] = nodeGypCommand();
  const defines = Object.entries(variables).map(([k, v]) => `-D${k}=${v}`);
  for (const args of [
    ['configure', ...nodedirArgs(), '--', ...defines],
    ['build', `--jobs=${Math.max(1, os.availableParallelism?.() ?? os.cpus().length)}`],
  ]) {
    const r = run(cmd, [...pre, ...args], dir);
    if (!r.ok) throw new Error(`node-gyp ${args[0]} failed in ${dir}:\n${errorLines(r.output)}`);
  }
  return path.join(dir, ADDON);
}

/** A build directory of its own whose binding.gyp includes the shared target definition. */
function stagingDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const rel = path.relative(dir, path.join(ROOT, 'native', 'addon.gypi')).split(path.sep).join('/');
  fs.writeFileSync(path.join(dir, 'binding.gyp'), `# Generated by scripts/build-native.js\n{ 'includes': ['${rel}'] }\n`);
  return dir;
}

function buildVariant(variant, dir, blas, arch) {
  const variables = { gemm: variant, arch_flags: arch, gen_dir: writeHeaders(path.join(dir, 'build', 'gen')) };
  if (variant === 'openblas') Object.assign(variables, { openblas_include: blas.include, openblas_libdir: blas.libdir });
  const started = Date.now();
  const addon = gypBuild(dir, variables);
  log(`built ${variant} variant in ${((Date.now() - started) / 1000).toFixed(0)}s: ${path.relative(ROOT, addon)}`);
  return addon;
}

function writeReport(report) {
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
}

function main(opts) {
  const arch = archFlags(opts.bf16);
  let blas = null;
  if (opts.variant !== 'portable') {
    blas = findOpenBlas();
    if (!blas && opts.variant === 'openblas') {
      throw new Error('OpenBLAS not found (cblas.h + libopenblas). Fix: apt-get install libopenblas-dev, or set OPENBLAS_INCLUDE and OPENBLAS_LIBDIR');
    }
    log(blas ? `OpenBLAS: ${blas.include}, ${blas.libdir}` : 'OpenBLAS not found: building the portable GEMM (apt-get install libopenblas-dev for BLAS)');
  }
  const dir = opts.out ? stagingDir(opts.out) : ROOT;
  // A failed build must not leave an older addon behind for the loader to pick up.
  fs.rmSync(path.join(dir, ADDON), { force: true });
  if (blas) {
    try {
      buildVariant('openblas', dir, blas, arch);
    } catch (err) {
      if (opts.variant === 'openblas') throw err;
      log(`warning: the OpenBLAS build failed, building the portable GEMM instead: ${err.message}`);
      blas = null;
    }
  }
  if (!blas) buildVariant('portable', dir, null, arch);
  if (opts.out) return;
  writeReport({ ok: true, variant: blas ? 'openblas' : 'portable', openblas: blas, arch_flags: arch });
  if (blas) {
    try {
      buildVariant('portable', stagingDir(PORTABLE_DIR), null, archFlags(false));
    } catch (err) {
      log(`warning: the portable variant (the fallback, and the tests' reference) did not build: ${err.message}`);
    }
  }
}

let opts = { variant: 'auto', out: null, strict: false, bf16: true };
try {
  opts = parseArgs(process.argv.slice(2));
  main(opts);
} catch (err) {
  log(`${opts.strict ? 'error' : 'warning'}: ${err.message}`);
  if (!opts.out) {
    writeReport({ ok: false, error: err.message });
    if (!opts.strict) log('the project will run on the pure-JS cpu backend; fix the problem, then run: npm run build:native');
  }
  process.exitCode = opts.strict ? 1 : 0;
}
