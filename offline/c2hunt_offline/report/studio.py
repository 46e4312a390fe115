"""Dashboard Studio definitions: read the app's views and turn them into offline ones.

The app ships its dashboards as Dashboard Studio definitions (``<dashboard version="2">`` with the
JSON in ``<definition>``). The offline report renders those same definitions: each data source
becomes a ``ds.test`` filled with offline results, a panel driven by a token (a host, a beaconing
pair, a domain) is repeated once per value the offline results give, and a panel with no offline
data is left out (and named in the report) rather than shown empty.
"""
import copy
import json
import re
import xml.etree.ElementTree as ElementTree

TOKEN = re.compile(r"\$([A-Za-z_][\w.]*)\$")
# Tokens the offline report does not expand: the time picker and drilldown row values.
_NOT_EXPANDED = ("global_time", "row", "click", "value", "name")


def load_view(path):
    """The JSON definition of one Dashboard Studio view file."""
    root = ElementTree.parse(str(path)).getroot()
    definition = json.loads(root.find("definition").text)
    definition.setdefault("title", (root.findtext("label") or "").strip())
    definition.setdefault("description", (root.findtext("description") or "").strip())
    return definition


def tokens_of(definition, ds_id):
    """Tokens a data source depends on (its chain's base included), time picker aside."""
    found, seen = [], set()
    while ds_id and ds_id not in seen:
        seen.add(ds_id)
        ds = definition["dataSources"].get(ds_id, {})
        for name in TOKEN.findall(ds.get("options", {}).get("query", "")):
            base = name.split(".")[0]
            if base not in _NOT_EXPANDED and base not in found:
                found.append(base)
        ds_id = ds.get("options", {}).get("extend")
    return found


def substitute(text, values):
    """``$token$`` replaced by its value where one is given (others left as they are)."""
    return TOKEN.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text or "")


def to_test_data(table):
    """A table ({"fields": [...], "rows": [{...}]}) as ds.test data (columns of values)."""
    fields = table["fields"]
    columns = [[_cell(row.get(f)) for row in table["rows"]] for f in fields]
    return {"fields": [{"name": f} for f in fields], "columns": columns}


def _cell(value):
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def offline_definition(definition, fill, token_values):
    """(definition for the report, titles of panels left out).

    ``fill(ds_id, ds, tokens)`` returns a table or None; ``token_values(name)`` the values a token
    takes offline. Rows of the grid whose panels depend on a token are repeated per value.
    """
    out = copy.deepcopy(definition)
    out["inputs"], out["dataSources"], out["visualizations"] = {}, {}, {}
    out.pop("defaults", None)
    layout = definition["layout"]
    width = layout.get("options", {}).get("width", 1440)
    rows = {}
    for item in layout["structure"]:
        rows.setdefault(item["position"]["y"], []).append(item)
    # consecutive grid rows that depend on the same tokens repeat together, per value
    groups = []
    for row_y in sorted(rows):
        items = sorted(rows[row_y], key=lambda i: i["position"]["x"])
        needed = []
        for item in items:
            viz = definition["visualizations"][item["item"]]
            for name in tokens_of(definition, viz["dataSources"]["primary"]):
                if name not in needed:
                    needed.append(name)
        if groups and needed and groups[-1][0] == needed:
            groups[-1][1].append(items)
        else:
            groups.append((needed, [items]))
    structure, y, left_out = [], 0, []
    for needed, group_rows in groups:
        for repeat, values in enumerate(_combinations(needed, token_values)):
            for items in group_rows:
                y = _place_row(items, values, "_%d" % repeat if values else "", definition, fill, out,
                               structure, y, width, left_out)
    out["layout"] = {"type": "grid", "options": {"width": width}, "structure": structure}
    return out, left_out


def _combinations(names, token_values):
    combos = [{}]
    for name in names:
        combos = [dict(c, **{name: v}) for c in combos for v in token_values(name)]
    return combos


def height_of(definition):
    """Pixel height of a grid definition (for screenshots)."""
    return max([i["position"]["y"] + i["position"]["h"] for i in definition["layout"]["structure"]] or [0])


def _place_row(items, values, suffix, definition, fill, out, structure, y, width, left_out):
    """Fill and place one grid row for one set of token values; returns the next row's y."""
    placed = []
    for item in items:
        viz = copy.deepcopy(definition["visualizations"][item["item"]])
        ds_id = viz["dataSources"]["primary"]
        table = fill(ds_id, definition["dataSources"][ds_id], values)
        # offline, the Enterprise Security panels are filled from the hunt's own notables
        title = substitute(viz.get("title", ""), values).replace(" (Enterprise Security)", "")
        if not table or not table["rows"]:
            if title not in left_out:
                left_out.append(title)
            continue
        viz_id, new_ds = item["item"] + suffix, ds_id + suffix
        viz["title"] = title
        viz["dataSources"] = {"primary": new_ds}
        viz.pop("eventHandlers", None)  # drilldowns need Splunk
        out["dataSources"][new_ds] = {"type": "ds.test", "name": title,
                                      "options": {"data": to_test_data(table)}}
        out["visualizations"][viz_id] = viz
        placed.append((viz_id, item))
    if not placed:
        return y
    # panels left out give their width to the ones that stay
    scale = float(width) / sum(item["position"]["w"] for _, item in placed)
    x, height = 0, max(_height(out, viz_id, item) for viz_id, item in placed)
    for viz_id, item in placed:
        w = int(round(item["position"]["w"] * scale))
        structure.append({"item": viz_id, "type": "block",
                          "position": {"x": x, "y": y, "w": min(w, width - x), "h": height}})
        x += w
    return y + height


def _height(out, viz_id, item):
    """A table's height grown to show its first page without scrolling (rows wrap long text)."""
    viz = out["visualizations"][viz_id]
    height = item["position"]["h"]
    if viz["type"] != "splunk.table":
        return height
    data = out["dataSources"][viz["dataSources"]["primary"]]["options"]["data"]
    page = int(viz.get("options", {}).get("count", 20))
    columns = data["columns"]
    n_rows = len(columns[0]) if columns else 0
    chars = max(8, item["position"]["w"] / max(1, len(columns)) / 9.0)  # ~9 px a character, padding included
    rows_height = 0
    for r in range(min(n_rows, page)):
        longest = max(len(str(col[r])) if col[r] is not None else 0 for col in columns)
        rows_height += 22 + 20 * max(1, -(-longest // int(chars)))
    needed = 110 + rows_height + (50 if n_rows > page else 0)
    return max(height, min(needed, 1600))
