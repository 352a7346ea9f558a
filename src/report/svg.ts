// What every SVG figure needs.

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * About how wide a line of 12-pixel sans-serif text is, in pixels (7 a character): enough to lay
 * out legends and labels so they do not run into each other, without measuring fonts.
 */
export function textWidth(text: string): number {
  return 7 * text.length;
}
