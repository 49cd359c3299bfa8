// Text into SVG/HTML: every name that reaches markup goes through escapeXml (layer names can come
// from imported graphs).
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
