// The fusion layer (docs/architecture.md): from source models to a fused model, optimizer-state
// transfer and verification. Knows nothing of training beyond the optimizer-slot contract.
export { checkFusable, outputWeights, MUST_MATCH } from './compatibility';
export { fusedConfig, planFusion, type FusionPlan, type NormMode, type TensorPlan, type Part } from './plan';
export { fuse, selfFuse, planFuse, planSelfFuse, fusedTensors, type FuseOptions, type SelfFuseOptions } from './fuse';
export { collapseNorms, collapsedConfig } from './collapse';
export { type SymmetryNoise } from './noise';
export {
  carryOptimizerState, slotPlans, carriedMeta, type OptimizerStateMode, type OptimizerMeta,
} from './optimizer_state';
export { logitsOf, logitsChange, probeCase, caseFromTokens, verificationLines, type LogitsChange } from './verify';
export {
  fuseCheckpoints, selfFuseCheckpoint, collapseNormsCheckpoint, verifyCheckpoint, commonTokenizer,
  type FusionResult, type OptimizerTransfer,
} from './checkpoints';
export { fusionPlanOf, fusionRecord, readFusionRecord, writeFusionRecord, type FusionRecord } from './record';
