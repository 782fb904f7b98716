"""Plain HTML for the reports: one self-contained page, relative image links, no network.

Tables with ``class="sortable"`` sort on a click of their header cell, by a tiny inline
script (no framework): a cell's ``data-v`` attribute, when present, is the value sorted by.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote

from ecgcore.wfdbio import atomic_write_bytes

__all__ = ["esc", "href", "fmt", "table", "write_page"]

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; font-size: 13px; vertical-align: middle; }
th { background: #eee; }
table.sortable th { cursor: pointer; }
table.sortable th::after { content: " \\2195"; color: #999; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.lead { font-size: 10px; width: 2.4em; text-align: center; padding: 1px; }
td.nan { background: #d00000; color: white; }
.bad { color: #d00000; font-weight: bold; }
img.thumb { width: 240px; height: 180px; object-fit: cover; object-position: top;
            border: 1px solid #ccc; }
img.thumb.msg { object-fit: contain; object-position: left center; }
figure { display: inline-block; margin: 0 1em 1em 0; }
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], asc = th.getAttribute("data-dir") !== "asc";
      th.setAttribute("data-dir", asc ? "asc" : "desc");
      function key(row) {
        var cell = row.cells[col];
        return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
      }
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
        var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return asc ? c : -c;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def esc(text) -> str:
    """HTML-escaped text.

    Examples
    --------
    >>> esc("a<b & 'c'")
    'a&lt;b &amp; &#x27;c&#x27;'
    """
    return html.escape(str(text), quote=True)


def href(path: str | Path) -> str:
    """A relative link to a file of the report (POSIX path, URL-quoted, escaped).

    Examples
    --------
    >>> href("records/sub dir/r#1.png")
    'records/sub%20dir/r%231.png'
    """
    return esc(quote(Path(path).as_posix()))


def fmt(value, digits: int = 2) -> str:
    """A number for a table cell ("nan" for NaN, "" for None).

    Examples
    --------
    >>> fmt(1.234), fmt(float("nan")), fmt(None), fmt(3)
    ('1.23', 'nan', '', '3')
    """
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.{digits}f}"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], sortable: bool = False) -> str:
    """A table from header names and rows of ready-made ``<td>`` cells."""
    cls = ' class="sortable"' if sortable else ""
    out = [f"<table{cls}><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
           + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(r) + "</tr>" for r in rows]
    return "\n".join(out) + "\n</tbody></table>"


def write_page(path: str | Path, title: str, body: str) -> Path:
    """Write a complete HTML page (inline style and sort script, nothing fetched)."""
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>{esc(title)}</title>\n<style>{_STYLE}</style></head>\n<body>\n"
            f"<h1>{esc(title)}</h1>\n{body}\n<script>{_SORT_SCRIPT}</script>\n</body></html>\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
