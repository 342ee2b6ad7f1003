"""The notebooks run top to bottom (executed, not just opened), with outputs stripped in git."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
#: What a notebook may import from ecssim: the package and its public modules.
PUBLIC = {"ecssim", "ecssim.policies", "ecssim.testing", "ecssim.reports.plotting"}


def _code(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_gallery_is_there() -> None:
    """The gallery's notebooks are all there, each with a rendered copy in docs/."""
    names = {p.stem for p in NOTEBOOKS}
    assert {
        "01-quickstart",
        "02-tune",
        "03-calibrate",
        "04-policy-comparison",
        "05-deploy-at-peak",
        "06-game-servers",
        "07-write-a-policy",
    } <= names
    rendered = Path(__file__).parent.parent / "docs" / "notebooks"
    for name in names:
        text = (rendered / f"{name}.md").read_text(encoding="utf-8")
        assert text.startswith(f"<!-- rendered from notebooks/{name}.ipynb")
        figures = [line for line in text.splitlines() if line.startswith("![figure")]
        assert figures, name
        for line in figures:
            assert (rendered / line.split("](")[1].rstrip(")")).is_file(), line
        # the rendered copy is of the notebook as committed (renew it after an edit)
        for source in _code(
            Path(__file__).parent.parent / "notebooks" / f"{name}.ipynb"
        ):
            assert f"```python\n{source}\n```" in text, (name, source[:60])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_parameters_and_uses_public_api_only(path: Path) -> None:
    """The first code cell is papermill's ``parameters`` cell (plain assignments a
    reader or papermill can change), and ecssim is imported only by its public
    modules."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    tree = ast.parse(code[0].source)
    assert tree.body
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    imported = set()
    for source in _code(path):
        lines = [line for line in source.splitlines() if not line.startswith("%")]
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    mine = {name for name in imported if name.split(".")[0] == "ecssim"}
    modules = {n for n in mine if n in PUBLIC or n.rsplit(".", 1)[0] not in PUBLIC}
    assert modules <= PUBLIC, modules - PUBLIC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    """A committed notebook carries no outputs or execution counts."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path) -> None:
    """Every cell runs without an error, and the plots and tables come out."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    outputs = [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("text/html" in o.get("data", {}) for o in outputs)
