/** `text` as a name for a path or an id: lower case, each run of other characters one hyphen, none at the ends. */
export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
