/** The median of `xs`: the middle value, or the mean of the two middle ones; NaN when there are none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
