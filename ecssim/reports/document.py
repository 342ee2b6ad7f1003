"""A small document model for reports, rendered as Markdown and as HTML.

Run and sweep reports are lists of blocks (headings, paragraphs, bullet lists,
tables, figures); :func:`to_markdown` and :func:`to_html` render the same
blocks, the HTML self-contained with its figures inlined.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

FIDELITY_NOTE: Final = (
    "ecssim models ECS behaviour from AWS's documentation; where AWS is silent "
    "it picks a documented default. Read the numbers as comparisons between "
    "policies under the same seeds, not as predictions of a bill. What that "
    "means here:"
)
#: The modelling caveats every report states (the README's Fidelity section has
#: the full list).
CAVEATS: Final = (
    "Defaults where AWS is silent (the scenario's ecs: section changes them): "
    "the service scheduler acts 15 s after a change and re-checks every 60 s "
    "out of steady state; scale-in stops unprotected tasks only, "
    "not-yet-RUNNING ones first, then from the availability zone with the most "
    "tasks, at random within it; UpdateTaskProtection refuses protection that "
    "would leave more protected tasks than the desired count "
    "(DEPLOYMENT_BLOCKED, ecs.deployment_blocked); the protection API allows "
    "50 calls/s with a burst of 100 per account.",
    "Not modelled: load balancers and health checks, the CODE_DEPLOY and "
    "EXTERNAL deployment controllers, EC2 launch templates (a group launches "
    "its first instance type), and the start-up backoff of tasks that keep "
    "failing. On EC2, whether instance draining waits for task protection is "
    "not documented (ecs.draining_respects_protection, default true).",
    "Workers are idealised: a queue worker takes one message at a time and "
    "keeps its visibility extended while it works; CPU is 5 % for an idle task "
    "and 95 % for a busy one.",
    "Every outcome is computed exactly from the recorded events; only the time "
    "series (and the timelines drawn from it) is sampled, every sample_interval.",
)


def caveat_blocks() -> list[Block]:
    """The report section on modelling caveats: a sentence and the list."""
    return [Paragraph(FIDELITY_NOTE), BulletList(CAVEATS)]


# ---- a small document model, rendered as Markdown and as HTML -------------------------
@dataclass(frozen=True)
class Heading:
    """A section title (level 1 is the page title)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Plain text."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """An unordered list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of text cells; *collapsed* folds it away in HTML under that label."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    collapsed: str | None = None


@dataclass(frozen=True)
class FigureRef:
    """A PNG of the folder with its caption (linked in Markdown, embedded in HTML)."""

    path: Path
    caption: str


Block = Heading | Paragraph | BulletList | Table | FigureRef


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, BulletList):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                "|" + "|".join(" --- " for _ in block.header) + "|",
            ]
            lines += [
                "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows
            ]
            out.append("\n".join(lines))
        else:
            out.append(f"![{block.caption}]({block.path.name})\n\n*{block.caption}*")
    return "\n\n".join(out) + "\n"


_CSS: Final = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; vertical-align: bottom; }
.wide { overflow-x: auto; max-width: 100%; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5rem 1rem; }
""".strip()


def _breakable(text: str) -> str:
    """*text* escaped, with line-break opportunities after ``_``, ``.`` and ``]``
    so that long outcome and parameter names wrap inside narrow columns."""
    escaped = html.escape(text)
    for mark in ("_", ".", "]"):
        escaped = escaped.replace(mark, f"{mark}<wbr>")
    return escaped


def _looks_numeric(text: str) -> bool:
    head = text.split(" ", 1)[0].replace(",", "")
    try:
        float(head)
    except ValueError:
        return False
    return True


def to_html(blocks: Sequence[Block], title: str, folder: Path) -> str:
    """The blocks as one standalone HTML page; figures are embedded and linked."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="note"' if block.text == FIDELITY_NOTE else ""
            out.append(f"<p{css}>{esc(block.text)}</p>")
        elif isinstance(block, BulletList):
            items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
            out.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_breakable(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="n">{esc(c)}</td>'
                    if i >= 2 and _looks_numeric(c)
                    else f"<td>{esc(c)}</td>"
                    for i, c in enumerate(row)
                )
                + "</tr>"
                for row in block.rows
            )
            table = (
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
            table = f'<div class="wide">{table}</div>'
            if block.collapsed:
                table = f"<details><summary>{esc(block.collapsed)}</summary>{table}</details>"
            out.append(table)
        else:
            data = base64.b64encode((folder / block.path.name).read_bytes()).decode()
            out.append(
                f'<figure><a href="{esc(block.path.name)}">'
                f'<img src="data:image/png;base64,{data}" alt="{esc(block.caption)}">'
                f"</a><figcaption>{esc(block.caption)}</figcaption></figure>"
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
