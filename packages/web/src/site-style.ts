/**
 * The one stylesheet every page links (/static/lafs.css), and the favicon. Served by the node
 * itself so the CSP can stay `style-src 'self'`: no inline style, no other origin. Colours are
 * picked for WCAG AA contrast (4.5:1 for text) in both the light and the dark scheme.
 */
export const SITE_CSS = `:root{color-scheme:light dark;--bg:#ffffff;--fg:#1b1f24;--muted:#4a5560;--line:#c5ccd3;--panel:#f3f5f7;
--head:#e8ecf0;--link:#0b57a4;--ok:#0a6b2c;--warn:#8a4b00;--bad:#b00020;--focus:#0b57a4;--code:#eef1f4;
--new:#b9e2a0;--kept:#b5d3ea;--ignored:#dcdcdc;--ignored-fg:#333333}
@media (prefers-color-scheme:dark){:root{--bg:#14171a;--fg:#e6e9ec;--muted:#b3bcc5;--line:#3d454d;--panel:#1d2126;
--head:#262b31;--link:#8cc4ff;--ok:#6fdc95;--warn:#f2b866;--bad:#ff9a9a;--focus:#8cc4ff;--code:#262b31;
--new:#2f5a1c;--kept:#1f4766;--ignored:#3a3f45;--ignored-fg:#e6e9ec}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:75rem;margin:0 auto;padding:1rem}
a{color:var(--link)}h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}
code,.cap{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.9em;background:var(--code);padding:0 .25em;border-radius:3px;overflow-wrap:anywhere;word-break:break-all}
.site{background:var(--panel);border-bottom:1px solid var(--line)}
.site-inner{max-width:75rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;align-items:center}
.brand{font-weight:700;font-size:1.1rem;text-decoration:none;color:var(--fg)}
.site nav ul,.panel-nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
.summary{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.95rem}
.summary li{white-space:nowrap}
.panel-nav{margin:.25rem 0 1rem;border-bottom:1px solid var(--line);padding-bottom:.5rem}
[aria-current=page]{font-weight:700}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
th,td{border:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--head)}
.kv th{width:12rem}
td.tick{white-space:nowrap;width:1%}td.connection{max-width:28rem}
.connected,.ready{color:var(--ok)}.connecting{color:var(--warn)}.disconnected,.not-ready{color:var(--bad)}
.hint{color:var(--muted)}
.error{border:2px solid var(--bad);border-radius:4px;padding:.5rem 1rem}
.notice-ok{border:2px solid var(--ok);border-radius:4px;padding:.5rem 1rem}
.visually-hidden,.sim-visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
input,select,button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);border-radius:4px;padding:.3rem .5rem;max-width:100%}
input[type=submit],button{background:var(--link);color:var(--bg);border-color:var(--link);cursor:pointer;padding:.35rem 1rem}
input[type=checkbox]{width:1.2rem;height:1.2rem;vertical-align:middle}
input[type=text]{width:100%}
form p,.field{margin:.5rem 0}
label{margin-right:.5rem}
progress{width:100%;height:1rem}
.result{border:2px solid var(--ok);border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.sim-grid{overflow-x:auto;max-width:100%}.sim-grid table{width:auto}.sim-grid td,.sim-grid th{text-align:center;padding:.15rem .4rem}
.sim-grid td.sim-server,.sim-grid th.sim-server{text-align:left;white-space:nowrap}
.share-new{background:var(--new);font-weight:bold}.share-kept{background:var(--kept)}.share-ignored{background:var(--ignored);color:var(--ignored-fg)}
.share-matched{outline:2px solid var(--fg);outline-offset:-3px}.sim-ok{border:2px solid var(--ok);padding:.5rem 1rem}
.sim-refused{border:2px solid var(--bad);padding:.5rem 1rem}.sim-off{color:var(--muted)}
fieldset{margin:.5rem 0 1rem;border:1px solid var(--line);min-width:0}input[type=number]{width:5rem}
#sim-si{width:20rem;max-width:100%;font-family:ui-monospace,monospace}button{margin:.2rem .4rem .2rem 0}
.breadcrumbs{list-style:none;margin:.25rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
.breadcrumbs li+li::before{content:"/";color:var(--muted);margin-right:.25rem}
.breadcrumbs [aria-current=page]{color:var(--fg);text-decoration:none}
.listing td.entry{font-weight:600}.listing td.actions a{margin-right:.6rem;white-space:nowrap}
.listing th a{color:var(--fg)}.listing td.actions button{padding:.1rem .6rem;font-size:.9rem}
details.write-cap{margin:.3rem 0}details.write-cap summary{cursor:pointer;color:var(--link)}
.dir-caps{margin:0 0 1rem}
.drop-zone{border:2px dashed var(--muted);border-radius:6px;padding:.25rem 1rem}
.drop-zone.dragging{border-color:var(--link);background:var(--panel)}
.upload-list{list-style:none;padding:0}.upload-list li{display:grid;grid-template-columns:minmax(0,1fr) minmax(6rem,2fr) minmax(0,1.5fr);gap:.5rem;align-items:center;margin:.3rem 0;overflow-wrap:anywhere}
button.danger{background:var(--bad);border-color:var(--bad)}
button.secondary{background:var(--bg);color:var(--fg);border-color:var(--muted)}
dialog{background:var(--bg);color:var(--fg);border:2px solid var(--line);border-radius:6px;max-width:min(32rem,92vw)}
dialog::backdrop{background:rgba(0,0,0,.5)}
.inline-rename{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}.inline-rename input[type=text]{width:auto;flex:1 1 10rem}
@media (max-width:40rem){main{padding:.75rem}
.upload-list li{grid-template-columns:1fr}
.reflow,.reflow tbody,.reflow tr,.reflow td,.reflow th{display:block;width:100%}
.reflow thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.reflow tr{border:1px solid var(--line);border-radius:4px;margin-bottom:.75rem}
.reflow td{border:0;border-top:1px solid var(--line)}.reflow tr td:first-child{border-top:0}
.reflow td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
.kv,.kv tbody,.kv tr,.kv th,.kv td{display:block;width:100%}.kv th{border-bottom:0}
.summary li{white-space:normal}}
`;

/** A small "T" in a rounded square, as SVG: every page links it, so no browser asks for a missing /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b57a4"/><path d="M8 8h16v4h-6v13h-4V12H8z" fill="#fff"/></svg>
`;
