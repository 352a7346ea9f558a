// The growth-dynamics layer (docs/dynamics.md): measurements of fused models and of their
// training, above fusion (it reads fusion plans) and below plans (which run it as nodes).
export { runAnalysis, type AnalysisInput, type AnalysisOutput, type AnalysisTarget, type AnalysisFigure } from './analyze';
export { ANALYSES, ANALYSIS_SETTINGS, type AnalysisName, type AnalysisSettings } from './settings';
export { replicaProbe, replicaProbeFor, replicaStats, replicaStatsOf, REPLICAS_RECORD, type ReplicaStats } from './replicas';
export { lieBracket, type BracketResult } from './bracket';
export { modifiedLossGap, logLogSlope, defaultStepSizes, type ModifiedLossResult } from './modified_loss';
export { hessianVectorProduct, calibrateRadius } from './hvp';
export { lossField, fieldOf, type GradientField } from './gradient_field';
export { kernelHeatmap } from './heatmaps';
export { runPoints, requireFusionPlan } from './runs';
