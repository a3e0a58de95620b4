/**
 * Placement's hints send the user to tahoe.cfg [client]; on the panel the Encoding page sets those
 * values and overrides tahoe.cfg, so the panel points there instead.
 */
export function panelWords(text: string): string {
  return text
    .replace(/ in tahoe\.cfg \[client\]/g, " on the control panel's Encoding page")
    .replace(/ \(\[client\] in tahoe\.cfg\)/g, " (set on the control panel's Encoding page)");
}
