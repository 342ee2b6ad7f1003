"""Execute the notebooks and write a rendered copy of each to docs/notebooks/.

Run from the repository root: ``.venv/bin/python docs/render_notebooks.py``.
Each notebook becomes ``docs/notebooks/<name>.md`` (its narrative, its code and
its outputs, stderr aside) with its figures beside it as PNG files, so a reader
sees them without running anything. Name notebooks to render only those:
``.venv/bin/python docs/render_notebooks.py 04-policy-comparison``.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "notebooks"


def render(path: Path) -> Path:
    """Execute *path* and write its Markdown copy; return the copy's path."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    lines: list[str] = [f"<!-- rendered from notebooks/{path.name} by docs/render_notebooks.py -->", ""]
    figures = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            lines += [cell.source, ""]
            continue
        lines += ["```python", cell.source, "```", ""]
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                figures += 1
                name = f"{path.stem}-{figures}.png"
                (OUT / name).write_bytes(base64.b64decode(data["image/png"]))
                lines += [f"![figure {figures}]({name})", ""]
            elif "text/html" in data:
                lines += [data["text/html"], ""]
            elif "text/plain" in data:
                lines += ["```text", data["text/plain"], "```", ""]
            elif output.get("output_type") == "stream" and output.get("name") != "stderr":
                # stderr is warnings about the reader's environment, not the notebook's
                lines += ["```text", output.get("text", "").rstrip(), "```", ""]
    target = OUT / f"{path.stem}.md"
    target.write_text("\n".join(lines), encoding="utf-8")
    return target


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        if not names or path.stem in names:
            print(render(path))


if __name__ == "__main__":
    main(sys.argv[1:])
