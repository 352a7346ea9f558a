// The native CPU backend: a C++ addon under tfjs's kernel interface (see register.ts).
export { nativeAddon, nativeCandidate, nativeKernels } from './register';
export { measureHardwarePeak, type HardwarePeak } from './peak';
export { NativeBackend } from './backend';
export { loadAddon, threadCount, ADDON_PATH, PACKAGE_ROOT, PORTABLE_ADDON_PATH, type NativeAddon, type AddonInfo } from './addon';
