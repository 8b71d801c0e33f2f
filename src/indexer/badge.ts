/**
 * A package's badge: a static SVG in the flat style shields.io draws ("shelf | v1.2.0"), derived
 * from the package document, for publishers to put in their own README. Pure: the same document
 * always gives the same bytes, so the file is rewritten only when what it shows changes.
 *
 * Text is measured with the advance widths of Verdana at 11px (the font the SVG names first, and
 * the one shields.io measures with), so each half is as wide as its text, not a fixed width per
 * character.
 *
 * @module
 */
import { isSelectable } from '../core/lifecycle.ts';
import type { PackageDocument, PackageStatus } from '../core/schemas.ts';

/**
 * Advance widths in pixels of Verdana at 11px for the printable ASCII characters U+0020–U+007E,
 * in order, from the width table of anafanafo 2.0.0 (`data/verdana-11px-normal.json`, MIT,
 * Copyright (c) 2018 Metabolize LLC), the table shields.io measures badges with. Versions, the
 * label and the status words are ASCII; anything else is measured as {@link FALLBACK_WIDTH}.
 */
const VERDANA_11: readonly number[] = [
  3.87, 4.33, 5.05, 9, 6.99, 11.84, 7.99, 2.95, 5, 5, 6.99, 9, 4, 5, 4, 5, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 5, 5, 9, 9, 9, 6,
  11, 7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.63, 5, 7.62, 6.12, 9.27, 8.23, 8.66, 6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54,
  5, 5, 5, 9, 6.99, 6.99, 6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68, 6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51,
  9, 6.51, 6.51, 5.78, 6.98, 5, 6.98, 9,
];

/** Width of a character outside the table: the widest capital, `M`, so text never overflows. */
const FALLBACK_WIDTH = 9.27;

/** Blank space left and right of each half's text, px. */
const PADDING = 5;

/** Colours of the message half. */
export const BADGE_COLORS = { release: '#007ec6', prerelease: '#fe7d37', deprecated: '#e05d44' } as const;

/** The label every badge carries. */
export const BADGE_LABEL = 'shelf';

/** Width of `text` in Verdana 11px, px. */
export function verdanaWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    width += code >= 32 && code <= 126 ? VERDANA_11[code - 32]! : FALLBACK_WIDTH;
  }
  return width;
}

/** What a badge says. */
export interface Badge {
  /** Left half (grey). */
  label: string;
  /** Right half. */
  message: string;
  /** Colour of the right half, `#rrggbb`. */
  color: string;
}

/**
 * What a package's badge says: its latest release in blue; with only prereleases, the highest of
 * them in orange; a deprecated package (its lifecycle `status`) in red, with the word; a package
 * the operator took down in red, saying so. The version shown is never a yanked one.
 */
export function packageBadge(
  doc: Pick<PackageDocument, 'latest' | 'versions'> & { status?: PackageStatus },
  status: PackageStatus = doc.status ?? 'active',
): Badge {
  if (status === 'removed') return { label: BADGE_LABEL, message: 'removed', color: BADGE_COLORS.deprecated };
  // Never a yanked version: the one a range would choose, as search results show it.
  const version = doc.latest ?? doc.versions.find((v) => isSelectable({ status: v.status ?? 'active' }))?.version ?? null;
  const shown = version === null ? 'unreleased' : `v${version}`;
  if (status === 'deprecated') return { label: BADGE_LABEL, message: `${shown} deprecated`, color: BADGE_COLORS.deprecated };
  return { label: BADGE_LABEL, message: shown, color: doc.latest ? BADGE_COLORS.release : BADGE_COLORS.prerelease };
}

/** The SVG of a badge, as UTF-8 bytes. */
export function renderBadge(badge: Badge): Uint8Array {
  if (!/^#[0-9a-f]{6}$/.test(badge.color)) throw new TypeError(`"color" must be #rrggbb, got ${JSON.stringify(badge.color)}`);
  const labelText = verdanaWidth(badge.label);
  const messageText = verdanaWidth(badge.message);
  const labelWidth = Math.round(labelText) + 2 * PADDING;
  const messageWidth = Math.round(messageText) + 2 * PADDING;
  const width = labelWidth + messageWidth;
  const label = escapeXml(badge.label);
  const message = escapeXml(badge.message);
  // Text is drawn at 10× and scaled down, as shields.io does, for sub-pixel placement.
  const text = (content: string, centre: number, length: number) =>
    `<text aria-hidden="true" x="${centre * 10}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${length}">${content}</text>` +
    `<text x="${centre * 10}" y="140" transform="scale(.1)" fill="#fff" textLength="${length}">${content}</text>`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${label}: ${message}">` +
    `<title>${label}: ${message}</title>` +
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>' +
    `<clipPath id="r"><rect width="${width}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${labelWidth}" height="20" fill="#555"/><rect x="${labelWidth}" width="${messageWidth}" height="20" fill="${badge.color}"/><rect width="${width}" height="20" fill="url(#s)"/></g>` +
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">' +
    text(label, labelWidth / 2, Math.round(labelText * 10)) +
    text(message, labelWidth + messageWidth / 2, Math.round(messageText * 10)) +
    '</g></svg>\n';
  return new TextEncoder().encode(svg);
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
