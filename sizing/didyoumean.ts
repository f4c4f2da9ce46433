/** Levenshtein distance, for did-you-mean suggestions on unknown ids. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  let best: { id: string; distance: number } | undefined;
  for (const id of candidates) {
    const hay = id.toLowerCase();
    const distance = hay.startsWith(needle) || hay.includes(needle) ? 0.5 : editDistance(needle, hay);
    if (!best || distance < best.distance) best = { id, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(1, Math.floor(needle.length / 4)) ? best.id : undefined;
}

/** "unknown gpu "h10"; did you mean "h100"? Valid: a10g, l4, ..." */
export function unknownIdMessage(kind: string, input: string, candidates: readonly string[]): string {
  const suggestion = didYouMean(input, candidates);
  return [
    `unknown ${kind} "${input}"`,
    suggestion ? `; did you mean "${suggestion}"?` : ".",
    ` Valid: ${candidates.join(", ")}`,
  ].join("");
}
