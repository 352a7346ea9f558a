// Shared by the node kinds: the facts every job reports about the process that ran it.

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** A model directory of an input job. */
export function inputModel(job: { inputs: ReadonlyArray<{ id: string; dir: string; result: { model?: string } }> }, index: number): string {
  const input = job.inputs[index];
  if (!input?.result.model) throw new Error(`input ${input?.id ?? index} produced no model`);
  return `${input.dir}/${input.result.model}`;
}
