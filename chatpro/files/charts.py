"""DrawingML charts and SmartArt as Markdown lines, shared by .docx and .pptx.

A chart part (c:chartSpace) becomes its title, axis titles and a small pipe table of categories
against series values (the numbers a reader sees in the plot and its legend). A SmartArt data
part (dgm:dataModel) becomes a bulleted list of its nodes, indented by their place in the tree.
Only the data part is read: the drawing part SmartArt caches holds the same words again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from xml.etree import ElementTree as ET

A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
DGM = "{http://schemas.openxmlformats.org/drawingml/2006/diagram}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"

MAX_CHART_ROWS = 200

MAX_CHART_SERIES = 255
"""Series shown as the table's columns (with the category column, the table column cap); the
rest are counted in a line under the table."""
"""A chart's table stops here; a plot of thousands of points is a picture, not a table."""


def cell(text: str) -> str:
    """TEXT made safe for one pipe-table cell: one line, pipes escaped."""
    text = " ".join(text.replace("\t", " ").split("\n"))
    return " ".join(text.split(" ")).strip().replace("|", "\\|")


def pipe_table(rows: list[list[str]]) -> list[str]:
    """ROWS (the first is the header) as pipe-table lines; short rows are padded."""
    if not rows:
        return []
    width = max(len(row) for row in rows)
    if width == 0:
        return []
    out: list[str] = []
    for i, row in enumerate(rows):
        padded = [*row, *([""] * (width - len(row)))]
        out.append("| " + " | ".join(padded) + " |")
        if i == 0:
            out.append("|" + " --- |" * width)
    return out


def _rich_text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    paragraphs = []
    for p in el.iter(A + "p"):
        paragraphs.append("".join(t.text or "" for t in p.iter(A + "t")))
    if not paragraphs:  # c:strRef title: the cached string
        paragraphs = [v.text or "" for v in el.iter(C + "v")]
    return " ".join(part.strip() for part in paragraphs if part.strip())


def _points(el: ET.Element | None) -> dict[int, str]:
    """idx -> cached value of a c:cat/c:val/c:tx reference (str, num or multi-level)."""
    found: dict[int, str] = {}
    if el is None:
        return found
    for pt in el.iter(C + "pt"):
        v = pt.find(C + "v")
        try:
            idx = int(pt.get("idx", "0"))
        except ValueError:
            continue
        if v is not None and idx not in found:
            found[idx] = v.text or ""
    return found


def _series_name(ser: ET.Element, number: int) -> str:
    tx = ser.find(C + "tx")
    if tx is not None:
        direct = tx.find(C + "v")
        if direct is not None and direct.text:
            return direct.text
        cached = _points(tx)
        if cached:
            return " ".join(cached[k] for k in sorted(cached))
    return f"Series {number}"


def chart_lines(root: ET.Element) -> list[str]:
    """A chart part's text: "Chart: title", axis titles, and a table of its data."""
    chart = root.find(C + "chart")
    if chart is None:
        return []
    lines: list[str] = []
    title = _rich_text(chart.find(C + "title"))
    lines.append(f"Chart: {title}" if title else "Chart:")
    plot = chart.find(C + "plotArea")
    if plot is None:
        return lines
    axes = [_rich_text(ax.find(C + "title")) for ax in plot if ax.tag.endswith("Ax")]
    axes = [a for a in axes if a]
    if axes:
        lines.append("Axes: " + "; ".join(axes))
    names: list[str] = []
    columns: list[dict[int, str]] = []
    categories: dict[int, str] = {}
    series = 0
    for ser in plot.iter(C + "ser"):
        series += 1
        if series > MAX_CHART_SERIES:
            continue
        names.append(_series_name(ser, len(names) + 1))
        cat = ser.find(C + "cat")
        if cat is None:
            cat = ser.find(C + "xVal")
        for idx, value in _points(cat).items():
            categories.setdefault(idx, value)
        val = ser.find(C + "val")
        if val is None:
            val = ser.find(C + "yVal")
        columns.append(_points(val))
    if not names:
        return lines
    indexes = sorted(set(categories).union(*(set(c) for c in columns)))
    rows = [["Category", *(cell(n) for n in names)]]
    for idx in indexes[:MAX_CHART_ROWS]:
        rows.append(
            [cell(categories.get(idx, str(idx + 1)))] + [cell(c.get(idx, "")) for c in columns]
        )
    lines.extend(pipe_table(rows))
    if len(indexes) > MAX_CHART_ROWS:
        lines.append(f"(chart table cut at {MAX_CHART_ROWS} of {len(indexes)} rows)")
    if series > MAX_CHART_SERIES:
        lines.append(f"(chart table cut at {MAX_CHART_SERIES} of {series} series)")
    return lines


def smartart_lines(root: ET.Element) -> list[str]:
    """A SmartArt data model's node texts as a bulleted list, nested as the diagram nests them."""
    texts: dict[str, str] = {}
    order: list[str] = []
    root_ids: list[str] = []
    pt_list = root.find(DGM + "ptLst")
    if pt_list is None:
        return []
    for pt in pt_list.findall(DGM + "pt"):
        model_id = pt.get("modelId", "")
        kind = pt.get("type", "node")
        if kind == "doc":
            root_ids.append(model_id)
        if kind not in ("node", "asst"):
            continue
        t = pt.find(DGM + "t")
        text = ""
        if t is not None:
            paragraphs = ["".join(x.text or "" for x in p.iter(A + "t")) for p in t.iter(A + "p")]
            text = " ".join(p.strip() for p in paragraphs if p.strip())
        texts[model_id] = text
        order.append(model_id)
    children: dict[str, list[tuple[int, str]]] = defaultdict(list)
    has_parent: set[str] = set()
    cxn_list = root.find(DGM + "cxnLst")
    for cxn in cxn_list.findall(DGM + "cxn") if cxn_list is not None else []:
        if cxn.get("type", "parOf") != "parOf":
            continue
        src, dest = cxn.get("srcId", ""), cxn.get("destId", "")
        try:
            rank = int(cxn.get("srcOrd", "0"))
        except ValueError:
            rank = 0
        children[src].append((rank, dest))
        has_parent.add(dest)
    lines: list[str] = []
    seen: set[str] = set()

    def walk(node: str, depth: int) -> None:
        for _, child in sorted(children.get(node, [])):
            if child in seen:
                continue
            seen.add(child)
            text = texts.get(child, "")
            if text:
                lines.append("  " * depth + "- " + text)
            walk(child, depth + 1 if text else depth)

    for start in root_ids:
        walk(start, 0)
    for model_id in order:  # nodes the connections did not reach, in document order
        if model_id not in seen and texts[model_id]:
            lines.append("- " + texts[model_id])
    return lines


def graphic_lines(
    data: ET.Element,
    rels: dict[str, tuple[str, str]],
    load: Callable[[str], ET.Element | None],
) -> list[str]:
    """The lines of the chart or SmartArt an a:graphicData points to (through RELS), else []."""
    chart = data.find(C + "chart")
    if chart is not None:
        target = rels.get(chart.get(R + "id", ""))
        root = load(target[1]) if target else None
        return chart_lines(root) if root is not None else []
    diagram = data.find(DGM + "relIds")
    if diagram is not None:
        target = rels.get(diagram.get(R + "dm", ""))
        root = load(target[1]) if target else None
        return smartart_lines(root) if root is not None else []
    return []
