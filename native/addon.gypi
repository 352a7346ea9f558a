# The addon's target, included by ../binding.gyp (and by the extra build of the portable variant
# that scripts/build-native.js makes in its own directory). scripts/build-native.js sets the
# variables after probing the machine; the defaults build the portable variant.
{
  'variables': {
    'gemm%': 'portable',
    'openblas_include%': '',
    'openblas_libdir%': '',
    'arch_flags%': '',
    # Where scripts/build-native.js wrote the headers it generates from ops.js (ops.h, ops_napi.h).
    'gen_dir%': '',
    'napi_include%': '<!(node -p "require(\'path\').dirname(require.resolve(\'node-addon-api/package.json\'))")',
  },
  'targets': [{
    'target_name': 'deepfusion',
    'sources': [
      'addon.cc', 'pool.cc', 'gemm.cc', 'gemm_portable.cc', 'gemm_openblas.cc', 'matmul.cc',
      'elementwise.cc', 'reduce.cc', 'transpose.cc', 'gather.cc', 'softmax.cc',
      'rms_norm.cc', 'attention_softmax.cc', 'cross_entropy.cc', 'gated_gelu.cc', 'adamw.cc', 'adafactor.cc',
      'attention_matmul.cc', 'huge_pages.cc', 'gemm_bf16.cc', 'peak.cc', 'attention.cc',
    ],
    # '.' for napi_util.h, which the generated ops_napi.h includes from gen_dir.
    'include_dirs': ['<(napi_include)', '<(gen_dir)', '.'],
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions'],
    'cflags_cc': ['-O3', '-ffp-contract=fast', '-fno-math-errno', '<@(arch_flags)'],
    'xcode_settings': {
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'OTHER_CPLUSPLUSFLAGS': ['-O3', '-ffp-contract=fast', '-fno-math-errno', '<@(arch_flags)'],
    },
    'conditions': [
      ['gemm=="openblas"', {
        'defines': ['DF_HAVE_OPENBLAS'],
        'include_dirs': ['<(openblas_include)'],
        'libraries': ['-L<(openblas_libdir)', '-Wl,-rpath,<(openblas_libdir)', '-lopenblas'],
      }],
    ],
  }],
}
