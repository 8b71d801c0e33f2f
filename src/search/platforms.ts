/**
 * Platforms as a bit mask, so that every document entry carries them in a few digits: bit
 * `o * 4 + a` for the OS's position in {@link MASK_OSES} and the architecture's in
 * {@link MASK_ARCHES}; unknown values map to `other`, so a filter on the architecture alone still
 * sees them. The `os`/`arch` filters match an OS and an architecture on the same platform entry,
 * and `any` matches everything, as in one whole index. Pure module.
 *
 * @module
 */
/** OS positions of the mask. */
export const MASK_OSES = ['darwin', 'linux', 'win32', 'any', 'other'] as const;
/** Architecture positions of the mask. */
export const MASK_ARCHES = ['x64', 'arm64', 'any', 'other'] as const;

/** A value's position in a mask's list; unknown values (and `other` itself) are `other`, the last. */
function position(list: readonly string[], value: string): number {
  const i = list.indexOf(value);
  return i < 0 ? list.length - 1 : i;
}

/** The mask of a summary's platforms (`os-arch` ids); ids that do not parse are left out, as the filter ignores them. */
export function platformMask(platforms: readonly string[]): number {
  let mask = 0;
  for (const id of platforms) {
    const p = parsePlatformId(id);
    if (p) mask |= 1 << (position(MASK_OSES, p.os) * 4 + position(MASK_ARCHES, p.arch));
  }
  return mask;
}

/**
 * The bits a document needs one of to pass an `os`/`arch` filter, or null when there is no
 * filter (everything passes, even a package without platforms).
 */
export function filterMask(os: string | undefined, arch: string | undefined): number | null {
  if (os === undefined && arch === undefined) return null;
  let mask = 0;
  MASK_OSES.forEach((o, oi) => {
    MASK_ARCHES.forEach((a, ai) => {
      // "other" stands for values outside the registry's lists, which a validated filter never names.
      const osOk = os === undefined || (o === os && o !== 'other') || o === 'any';
      const archOk = arch === undefined || (a === arch && a !== 'other') || a === 'any';
      if (osOk && archOk) mask |= 1 << (oi * 4 + ai);
    });
  });
  return mask;
}

/**
 * Parses a platform id such as `linux-x64` (as found in a package summary's `platforms`) into
 * its parts, or returns null when it is not of the form `os-arch`.
 */
export function parsePlatformId(id: string): { os: string; arch: string } | null {
  const dash = id.indexOf('-');
  if (dash <= 0 || dash === id.length - 1) return null;
  return { os: id.slice(0, dash), arch: id.slice(dash + 1) };
}
