"""The report's HTML: summary, then one dashboard per view (Splunk's framework, or plain tables)."""
import html
import json
import os

_STYLE = """
body { margin: 0; background: #111215; color: #e1e6eb; font: 14px/1.45 "Splunk Platform Sans", Proxima Nova,
       Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1480px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 24px; margin: 8px 0 4px; } h2 { font-size: 20px; margin: 28px 0 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; color: #c3cbd4; }
p.description, p.note { color: #a9b2bc; margin: 2px 0 10px; max-width: 1100px; }
.summary { display: flex; flex-wrap: wrap; gap: 16px; }
.summary > div { background: #1a1c20; padding: 10px 14px; border-radius: 4px; flex: 1 1 300px; }
table.plain { border-collapse: collapse; width: 100%; font-size: 13px; }
table.plain th, table.plain td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #2b2f35;
                                  vertical-align: top; word-break: break-word; }
table.plain th { color: #c3cbd4; }
.dashboard { min-height: 40px; }
.warn { color: #f8be34; }
"""

# Collects what the page logs as errors so a headless browser (and a reader) can see them.
_ERROR_CAPTURE = """
window.c2huntErrors = [];
(function () {
  function note(text) {
    window.c2huntErrors.push(String(text));
    var el = document.getElementById('c2hunt-console-errors');
    if (el) { el.textContent = window.c2huntErrors.join('\\n'); }
  }
  var original = console.error;
  console.error = function () {
    note(Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('error', function (e) { note('error: ' + e.message); });
  window.addEventListener('unhandledrejection', function (e) { note('unhandled rejection: ' + e.reason); });
})();
// report.html#only=<section id> shows one section (for screenshots and links)
document.addEventListener('DOMContentLoaded', function () {
  var m = /^#only=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!m) { return; }
  document.querySelectorAll('main > section').forEach(function (s) {
    if (s.id !== m[1]) { s.style.display = 'none'; }
  });
});
"""


def _esc(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return html.escape(str(value))


def _table(fields, rows):
    head = "".join("<th>%s</th>" % _esc(f) for f in fields)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % _esc(r.get(f)) for f in fields) for r in rows)
    return '<table class="plain"><tr>%s</tr>%s</table>' % (head, body)


def _script_json(value):
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def summary_html(results):
    s = results.summary()
    span = "%s to %s" % (s["first_event"], s["last_event"]) if s["first_event"] else "no timestamps"
    sourcetypes = results._ds_sourcetypes({})
    quiet = [r for r in s["searches"] if r["offline"].startswith("no data")]
    failed = [r for r in s["searches"] if r["offline"].startswith("not run")]
    parts = ['<section id="summary"><h2>Summary</h2><p class="note">%d events read (%s); %d notables '
             'from %d correlation searches.</p><div class="summary">'
             % (s["events"], _esc(span), s["notables"], len(s["searches"]))]
    parts.append("<div><h3>Notables by host</h3>%s</div>" % _table(
        ["host", "notables", "total_risk"],
        [{"host": h, "notables": c, "total_risk": int(r)} for h, c, r in s["by_host"]]))
    parts.append("<div><h3>Notables by signal</h3>%s</div>" % _table(
        ["signal", "notables"], [{"signal": k, "notables": c} for k, c in s["by_signal"]]))
    parts.append("<div><h3>Data read</h3>%s</div>" % _table(sourcetypes["fields"], sourcetypes["rows"]))
    parts.append("</div>")
    if quiet:
        parts.append('<p class="note warn">Searches with nothing to look at (none of their data sources are '
                     'in the input): %s</p>' % _esc(", ".join(r["search_name"] for r in quiet)))
    if failed:
        parts.append('<p class="note warn">Searches that could not run: %s</p>'
                     % _esc("; ".join("%s (%s)" % (r["search_name"], r["offline"]) for r in failed)))
    if results.capped:
        parts.append('<p class="note">Repeated panels are limited to the highest-risk values (%s).</p>'
                     % _esc("; ".join(results.capped)))
    parts.append("</section>")
    return "".join(parts)


def _plain_dashboard(definition):
    parts = []
    for viz_id, viz in definition["visualizations"].items():
        data = definition["dataSources"][viz["dataSources"]["primary"]]["options"]["data"]
        fields = [f["name"] for f in data["fields"]]
        rows = [dict(zip(fields, values)) for values in zip(*data["columns"])]
        parts.append("<h3>%s</h3>%s" % (_esc(viz.get("title")), _table(fields, rows)))
    return "".join(parts)


def render(results, dashboards, bundle):
    script_path = os.path.join(bundle, "c2hunt-report.js")
    has_bundle = os.path.isfile(script_path)
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             "<title>c2hunt report</title><style>%s</style>" % _STYLE]
    if has_bundle:
        css_path = os.path.join(bundle, "c2hunt-report.css")
        if os.path.isfile(css_path):
            with open(css_path, encoding="utf-8") as f:
                parts.append("<style>%s</style>" % f.read().replace("</", "<\\/"))
        parts.append("<script>%s</script>" % _ERROR_CAPTURE)
    parts.append('</head><body><main><h1>c2hunt report</h1>'
                 '<pre id="c2hunt-console-errors" hidden></pre>')
    parts.append(summary_html(results))
    if not has_bundle:
        parts.append('<p class="note warn">Charts need the report viewer (build it with '
                     'offline/c2hunt_offline/report/web/build.sh); the panels follow as tables.</p>')
    for name, title, description, definition, left_out in dashboards:
        parts.append('<section id="%s"><h2>%s</h2><p class="description">%s</p>'
                     % (_esc(name), _esc(title), _esc(description)))
        if has_bundle:
            parts.append('<div class="dashboard" data-c2hunt-dashboard="definition-%s"></div>'
                         '<script type="application/json" id="definition-%s">%s</script>'
                         % (_esc(name), _esc(name), _script_json(definition)))
        else:
            parts.append(_plain_dashboard(definition))
        if left_out:
            parts.append('<p class="note">Not in the offline report (no offline data: they need Splunk or '
                         'Enterprise Security, or the input has none): %s</p>' % _esc("; ".join(left_out)))
        parts.append("</section>")
    parts.append("</main>")
    if has_bundle:
        with open(script_path, encoding="utf-8") as f:
            parts.append("<script>%s</script>" % f.read().replace("</script", "<\\/script"))
    parts.append("</body></html>\n")
    return "".join(parts)
