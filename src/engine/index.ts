// The engine as the rest of the project sees it: tfjs, the fused ops, and backend selection.
export { tf, type Tensor } from './tf';
export { initEngine, describeBackend } from './backend';
export { scoped } from './scope';
export * from './fused';
