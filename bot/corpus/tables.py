"""Tables as text a sentence-based reader can quote: one row a line, with its column headings."""
from __future__ import annotations

MAX_CELL_CHARS = 300


def rows_to_text(rows: list[list[str]]) -> list[str]:
    """Each row after the first as 'Heading: cell; Heading: cell.', the first row giving the
    headings; a table of one row is its cells joined."""
    rows = [[" ".join(c.split())[:MAX_CELL_CHARS] for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return ["; ".join(c for c in row if c) + "." for row in rows]
    head, out = rows[0], []
    for row in rows[1:]:
        parts = [f"{h}: {c}" if h and h != c else c for h, c in zip(head, row) if c]
        parts += [c for c in row[len(head):] if c]
        if parts:
            out.append("; ".join(parts).rstrip(".") + ".")
    return out
