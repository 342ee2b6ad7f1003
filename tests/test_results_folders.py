"""Results folders from the command line: damaged folders given to ``report``,
replacing earlier results (``--force``), and disks that refuse to be written.

Every case exits 2 with one message that names the file or the ``--out``
folder, never a traceback, and leaves no hidden staging folder behind.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

from ecssim.cli import main

SCENARIO = """\
name: folders
seed: 3
duration: 1h
services:
  - name: worker
    desired_count: 2
    workload:
      kind: queue
      arrivals: {rate: 20/h}
      job_duration: {distribution: exponential, mean: 10m}
    protection: {policy: per_job, expires_in: 30m}
sweep:
  parameters: {"services[0].protection.policy": [none, per_job]}
  replications: 1
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "folders.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete run folder (written once for the module)."""
    base = tmp_path_factory.mktemp("run")
    scenario = base / "folders.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = base / "out"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    return out


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under *folder* (a sweep's runs/ included), by relative path."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---- ecssim report on damaged folders -------------------------------------------------
@pytest.mark.parametrize("table", ["events", "summary", "timeseries"])
def test_report_on_a_truncated_table_names_the_file(
    run_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
) -> None:
    """A Parquet file cut in half exits 2 with a message naming that file and
    no Arrow traceback."""
    folder = Path(shutil.copytree(run_folder, tmp_path / "copy"))
    path = folder / f"{table}.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ecssim report: {path}: cannot be read as a Parquet table")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_report_on_a_file_that_is_not_parquet_names_it(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Text where a table should be exits 2 naming the file."""
    folder = Path(shutil.copytree(run_folder, tmp_path / "copy"))
    (folder / "jobs.parquet").write_text("not a table", encoding="utf-8")
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'jobs.parquet'}: cannot be read" in err
    assert "Traceback" not in err


def test_report_on_a_folder_without_summary_json(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder whose summary.json is gone (or damaged) is not a results
    folder: exit 2 with a message saying what a results folder is."""
    folder = Path(shutil.copytree(run_folder, tmp_path / "copy"))
    (folder / "summary.json").unlink()
    assert main(["report", str(folder)]) == 2
    assert "not an ecssim results folder" in capsys.readouterr().err
    (folder / "summary.json").write_text('{"results": "ecssim run"', encoding="utf-8")
    assert main(["report", str(folder)]) == 2
    assert "not an ecssim results folder" in capsys.readouterr().err


def test_report_on_a_missing_table_names_it(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder that lost a table exits 2 naming the table."""
    folder = Path(shutil.copytree(run_folder, tmp_path / "copy"))
    (folder / "jobs.parquet").unlink()
    assert main(["report", str(folder)]) == 2
    assert f"{folder}: jobs.parquet is missing" in capsys.readouterr().err


def test_report_on_other_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that is not a results folder, or no folder at all, exits 2."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    assert main(["report", str(tmp_path / "photos")]) == 2
    assert "not an ecssim results folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


# ---- replacing earlier results --------------------------------------------------------
def test_run_into_an_existing_out_needs_force(
    run_folder: Path,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A second run into the same --out exits 2 and says how to replace it;
    with --force it replaces it."""
    out = Path(shutil.copytree(run_folder, tmp_path / "out"))
    before = _files(out)
    (out / "report.md").write_text("an earlier report", encoding="utf-8")
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ecssim run: {out}: already holds results (ecssim run); add --force to "
        "replace them, or choose another --out\n"
    )
    assert (out / "report.md").read_text(encoding="utf-8") == "an earlier report"
    args = ["run", str(scenario_file), "--out", str(out), "--quiet", "--force"]
    assert main(args) == 0
    assert _files(out) == before
    assert _hidden(tmp_path) == []


def test_default_folder_is_replaced_with_a_note(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --out the same command can be run again: the default folder is
    replaced, and a note says so."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario_file), "--quiet"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert main(["run", str(scenario_file), "--quiet"]) == 0
    folder = Path("results") / "folders-seed3"
    assert capsys.readouterr().err == (
        f"note: replacing the earlier results in {folder}\n"
    )
    assert (tmp_path / folder / "summary.json").is_file()


def test_sweep_does_not_replace_a_run_folder(
    run_folder: Path,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A sweep into a run's folder is refused (the run folder untouched)
    unless --force is given."""
    out = Path(shutil.copytree(run_folder, tmp_path / "out"))
    before = _files(out)
    assert main(["sweep", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds the results of ecssim run, not of ecssim sweep" in err
    assert "--force" in err
    assert _files(out) == before
    args = ["sweep", str(scenario_file), "--out", str(out), "--quiet", "--force"]
    assert main(args) == 0
    assert json.loads((out / "sweep.json").read_text(encoding="utf-8"))["results"] == (
        "ecssim sweep"
    )
    assert not (out / "summary.json").exists()


def test_default_sweep_folder_holding_a_run_is_not_replaced(
    run_folder: Path,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even the default folder is only replaced by results of the same kind."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    out = Path(shutil.copytree(run_folder, tmp_path / "results" / "folders-sweep"))
    before = _files(out)
    assert main(["sweep", str(scenario_file), "--quiet"]) == 2
    assert "not of ecssim sweep" in capsys.readouterr().err
    assert _files(out) == before


def test_run_does_not_replace_a_sweep_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run into a sweep's folder is refused without --force."""
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario_file), "--out", str(out), "--quiet"]) == 0
    before = _files(out)
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    assert "holds the results of ecssim sweep" in capsys.readouterr().err
    assert _files(out) == before


# ---- disks that refuse --------------------------------------------------------------
def test_disk_full_names_out(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ENOSPC from the table writer exits 2 naming --out (not the staging
    folder) and leaves nothing behind."""

    def full(_: object, path: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("ecssim.reports.run_report.write_parquet", full)
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ecssim run: cannot write results to {out}: No space left on device\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folders.yaml"]


def test_disk_full_in_a_sweep_names_out(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same for a sweep's folder."""

    def full(_: object, path: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("ecssim.experiments.sweep.write_parquet", full)
    out = tmp_path / "out"
    assert main(["sweep", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"ecssim sweep: cannot write results to {out}: No space left on device\n"
    )
    # the finished runs stay in out/runs for a rerun; no half-written table
    assert sorted(p.name for p in tmp_path.iterdir()) in (
        ["folders.yaml"],
        ["folders.yaml", "out"],
    )
    if out.exists():
        assert [p.name for p in out.iterdir()] == ["runs"]


def test_permission_denied_names_out(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A parent folder that refuses new folders (a read-only parent; the
    tests run as root, so it is simulated at os.mkdir) exits 2 naming --out."""
    out = tmp_path / "readonly" / "out"
    out.parent.mkdir()
    real_mkdir = Path.mkdir

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        if self.parent == out.parent:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["run", str(scenario_file), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"ecssim run: cannot write results to {out}: Permission denied\n"
    )
    assert list(out.parent.iterdir()) == []


def test_rename_refused_keeps_the_earlier_results(
    run_folder: Path,
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If putting the new folder in place fails, the earlier results stay at
    --out, the message names --out, and no staging folder is left."""
    out = Path(shutil.copytree(run_folder, tmp_path / "out"))
    before = _files(out)
    real_rename = Path.rename

    def refuse(self: Path, target: Path) -> Path:
        if self.name.startswith(".out.tmp-"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse)
    args = ["run", str(scenario_file), "--out", str(out), "--quiet", "--force"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"ecssim run: cannot write results to {out}: Read-only file system\n"
    )
    assert _files(out) == before
    assert _hidden(tmp_path) == []


def test_a_service_name_too_long_for_a_file_name_still_gets_its_timeline(
    tmp_path: Path,
) -> None:
    """ECS allows 255-character service names; the timeline's file name keeps
    within the file system's 255 bytes (start of the name and a digest)."""
    from ecssim import load_scenario, run
    from ecssim.reports.run_report import write_results

    name = "s" * 255
    scenario = load_scenario(
        Path(__file__).parent.parent / "scenarios" / "aws-sample-demo.yaml"
    ).with_overrides({"services[0].name": name, "scheduled": []})
    folder = write_results(run(scenario), tmp_path / "out")
    timelines = [p.name for p in folder.iterdir() if p.name.startswith("timeline-")]
    assert len(timelines) == 1
    assert len(timelines[0].encode()) <= 255
    assert timelines[0].startswith("timeline-" + "s" * 200 + "-")


def test_a_table_written_in_parts_reads_back_whole(tmp_path: Path) -> None:
    """Frames written a part at a time read back as the whole frame; one part
    gives the very bytes of writing the frame at once."""
    import pandas as pd

    from ecssim.reports.folders import write_parquet, write_parquet_parts

    frame = pd.DataFrame(
        {"time_s": [0.5, 1.0, 2.5], "kind": pd.array(["a", None, "c"], "string")}
    )
    write_parquet_parts([frame.iloc[:2], frame.iloc[2:]], tmp_path / "parts.parquet")
    back = pd.read_parquet(tmp_path / "parts.parquet")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    write_parquet(frame, tmp_path / "whole.parquet")
    write_parquet_parts([frame], tmp_path / "one.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (
        tmp_path / "whole.parquet"
    ).read_bytes()
