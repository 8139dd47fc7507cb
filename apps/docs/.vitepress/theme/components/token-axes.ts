// Layout shared by the token-grid figures (mask matrix, cache timeline): the room the row and
// column token labels need, in px, from the longest label (capped).
export function labelSpaceFor(labels: readonly string[]): number {
  return Math.min(96, 8 + 7 * Math.max(...labels.map((l) => l.length), 1));
}
