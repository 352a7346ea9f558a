// The native CPU backend: a C++ addon under tfjs's kernel interface (see register.ts).
export { nativeCandidate, nativeKernels } from './register';
export { NativeBackend } from './backend';
export { loadAddon, threadCount, ADDON_PATH, PORTABLE_ADDON_PATH, type NativeAddon, type AddonInfo } from './addon';
