/** The strong entity tag for a resource version. */
export function etagFor(version: number): string {
  return `"${version}"`;
}
