"""``report --per SEGMENT``: one complete report per unit, and the index of the units.

Private to the runner (:func:`analysis_helpers.runner.run_report` calls :func:`run_units`).
Layout::

    reports/<study>/by-<segment>/index.html             the runs by unit, newest first
    reports/<study>/by-<segment>/latest                 the newest run (as for reports)
    reports/<study>/by-<segment>/<date>/index.html      the units: base, KPIs against the
                                                        total, a link to each report, one
                                                        sentence for a unit without one
    reports/<study>/by-<segment>/<date>/units.csv       the comparison, unrounded
    reports/<study>/by-<segment>/<date>/run.json        the run record (every unit)
    reports/<study>/by-<segment>/<date>/<unit>/         one complete report of one unit
    reports/<study>/by-<segment>/<date>.failed-HHMMSS/<unit>/   a failed unit's notebooks

How it runs, with the main report's machinery: one lock per study, segment and date (and
the study's cleaned data), one staging folder for the date that is moved into place at the
end (``--force`` decided then, ``--keep`` and ``latest`` as for reports); cleaning runs
once, on every respondent; then every analysis notebook of every unit runs in the same
worker pool, each unit's notebooks in a hidden folder of the staging folder with its
``unit.json``. A unit whose notebooks and deliverables all succeeded is renamed into place
(``<unit>/``); a unit that failed leaves no folder there (its executed notebooks are kept
in ``<date>.failed-HHMMSS/``), is named in the index and makes the command exit non-zero.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._unitpages import units_index_html, units_runs_html
from .runner import (
    NotebookFailed,
    NotebookRun,
    NotebookTimeout,
    ReportError,
    _build_deliverables,
    _fail,
    _failure_line,
    _finalize,
    _font_style,
    _Job,
    _kernel_name,
    _last_durations,
    _opt,
    _rel,
    _run_notebooks,
    _State,
    _study_info,
    _take_locks,
    _write_atomic,
    _write_report,
    notebook_needs,
)

if TYPE_CHECKING:
    import pandas as pd

    from .study import Study


@dataclass
class UnitsRun:
    """The options of a run by unit, checked by the runner."""

    per: str
    study_path: Path
    root: Path
    reports: Path
    date: str
    started: dt.datetime
    notebooks: list[Path]
    declared_by: dict[Path, set[str]]
    parameters: dict[str, Any]
    force: bool
    wait: float
    workers: int | None
    nb_limit: float | None
    run_limit: float | None
    keep: int | None


@dataclass
class _Unit:
    """One unit with a report: its code, label, folder and the indices of its jobs."""

    value: str
    label: str
    folder: str
    n: int
    building: Path
    jobs: list[int] = field(default_factory=list)
    status: str = "pending"  # ok | failed
    lines: list[str] = field(default_factory=list)


def _check_segment(study: Study, per: str) -> None:
    if not study.has_segments:
        raise ReportError(
            f"{_opt('per', per)}: study {study.name!r} has no segments, so it cannot be split "
            "into units (the study file's segments: section)"
        )
    if per not in study.segment_columns():
        raise ReportError(
            f"{_opt('per', per)}: {per!r} is not a segment of study {study.name!r}; its "
            f"segments: {', '.join(study.segment_columns())}"
        )


def _job(run: UnitsRun, nb: Path, folder: Path, kernel: str, prefix: str = "") -> _Job:
    params = {"study_file": str(run.study_path), "report_dir": str(folder), **run.parameters}
    return _Job(
        prefix + nb.stem,
        str(nb),
        str(folder / nb.name),
        {k: v for k, v in params.items() if k in run.declared_by[nb]},
        kernel,
        str(run.root / "notebooks"),
        needs=tuple(prefix + n for n in notebook_needs(nb)),
    )


def run_units(state: _State, study: Study, run: UnitsRun) -> Path:
    """Produce the reports of every unit of ``run.per``; return the folder of the date.

    Raises
    ------
    ReportError
        ``run.per`` is not a segment of the study (exit 2), or what
        :func:`~analysis_helpers.runner.run_report` raises; NotebookFailed (exit 3) or
        NotebookTimeout (exit 4) after the other units were written, when a unit failed.
    """
    from .units import segment_folder

    _check_segment(study, run.per)
    progress = state.progress
    by_dir = run.reports / study.name / segment_folder(run.per)
    final = by_dir / run.date
    state.doing = f"create the report folder {by_dir}"
    by_dir.mkdir(parents=True, exist_ok=True)
    info = _take_locks(
        state,
        study,
        run.date,
        run.started,
        by_dir,
        force=run.force,
        wait=run.wait,
        run_limit=run.run_limit,
        root=run.root,
    )
    state.doing = "create the staging folder"
    staging = by_dir / f".staging-{run.date}-{os.getpid()}"
    state.staging = staging
    staging.mkdir()
    kernel = _kernel_name()
    cleaning = staging / ".cleaning"
    cleaning.mkdir()
    jobs = [_job(run, run.notebooks[0], cleaning, kernel)]
    runs = [NotebookRun(run.notebooks[0].stem)]
    units: list[_Unit] = []
    found: dict[str, Any] = {}

    def plan() -> None:  # once cleaning succeeded: the units and their jobs
        state.doing = "plan the units"
        found.update(_plan(study, run.per))
        for row in found["plan"].itertuples():
            if not row.report:
                continue
            unit = _Unit(
                row.value, row.value_label, row.folder, int(row.n), staging / f".unit-{row.folder}"
            )
            _start_unit(study, run.per, unit)
            for nb in run.notebooks[1:]:
                unit.jobs.append(len(jobs))
                jobs.append(_job(run, nb, unit.building, kernel, prefix=f"{row.folder}/"))
                runs.append(NotebookRun(f"{row.folder}/{nb.stem}"))
            units.append(unit)
        small = int((~found["plan"]["report"]).sum())
        progress(
            f"{len(units)} unit{'s' * (len(units) != 1)} of {study.segment(run.per).title} get "
            f"a report" + (f"; {small} too small for one" if small else "")
        )
        state.doing = "run the notebooks"

    seg_title = study.segment(run.per).title
    progress(f"Reports of study '{study.name}' by {seg_title} for {run.date}: kernel {kernel}")
    state.doing = "run the notebooks"
    _run_notebooks(
        state,
        jobs,
        runs,
        workers=run.workers,
        nb_limit=run.nb_limit,
        run_limit=run.run_limit,
        last=_last_durations(by_dir),
        after_cleaning=plan,
    )
    if runs[0].status != "ok" or any(r.status == "oserror" for r in runs):
        _fail(state, study, run.date, run.started, runs, run.nb_limit, run.run_limit)
    for unit in units:
        _finish_unit(state, study, run, unit, runs, kernel, staging)
    failed = [u for u in units if u.status != "ok"]
    kept = _keep_failed(by_dir, run, failed)
    shutil.rmtree(cleaning, ignore_errors=True)
    study_info = {**_study_info(study, run.root), "segment": run.per, "segment_title": seg_title}
    _write_index(state, study, run, staging, units, found, runs, study_info)
    _finalize(
        state,
        staging,
        final,
        info,
        study_info,
        force=run.force,
        keep=run.keep,
        reports=run.reports,
        study_page=units_runs_html,
    )
    _link_from_study(state, study, run, by_dir.parent, info)
    done = len(units) - len(failed)
    progress(f"{done} unit report{'s' * (done != 1)} written to {final}")
    if failed:
        lines = [line for u in failed for line in u.lines]
        note = f"\nThe executed notebooks are kept for inspection in {kept}" if kept else ""
        timed = any(r.status in ("timeout", "skipped") for u in failed for r in _runs(u, runs))
        cls = NotebookTimeout if timed else NotebookFailed
        raise cls(
            f"{len(failed)} of {len(units)} unit reports were not produced (the others are in "
            f"{final}):\n  " + "\n  ".join(lines) + note
        )
    return final


def _plan(study: Study, per: str) -> dict[str, Any]:
    """Return the units (:func:`~analysis_helpers.units.plan_units`) and the comparison."""
    from .cleaning import load_clean
    from .units import plan_units, unit_comparison

    data = load_clean(study, unit=False)
    return {
        "plan": plan_units(data, study=study, segment=per),
        "comparison": unit_comparison(data, study=study, segment=per),
    }


def _start_unit(study: Study, per: str, unit: _Unit) -> None:
    """Create a unit's hidden folder with its ``unit.json``."""
    from .io import write_unit_file

    unit.building.mkdir()
    write_unit_file(
        unit.building,
        {
            "segment": per,
            "segment_label": study.segment(per).title,
            "value": unit.value,
            "value_label": unit.label,
            "folder": unit.folder,
            "n": unit.n,
        },
    )


def _runs(unit: _Unit, runs: list[NotebookRun]) -> list[NotebookRun]:
    return [runs[k] for k in unit.jobs]


def _finish_unit(
    state: _State,
    study: Study,
    run: UnitsRun,
    unit: _Unit,
    runs: list[NotebookRun],
    kernel: str,
    staging: Path,
) -> None:
    """Build a unit's deliverables and pages and rename it into place, or record why not."""
    mine = _runs(unit, runs)
    # inside the unit's report its notebooks have their own names
    local = [dataclasses.replace(r, name=r.name.rpartition("/")[2]) for r in mine]
    bad = [r for r in local if r.status != "ok"]
    if not bad:
        ustudy = copy.copy(study)
        ustudy.set_unit(run.per, unit.value)
        state.doing = f"build the workbook and the deck of {unit.folder}"
        built = _build_deliverables(state, ustudy, unit.building, run.date, local)
        if built is not None:
            final = run.reports / study.name / staging.parent.name / run.date / unit.folder
            params = {"study_file": str(run.study_path), "report_dir": "", **run.parameters}
            _write_report(
                state,
                ustudy,
                unit.building,
                local,
                study_info=_study_info(ustudy, run.root),
                date=run.date,
                started=run.started,
                params=params,
                final=final,
                kernel=kernel,
                root=run.root,
                runner={"timeout": run.nb_limit, "run_timeout": run.run_limit, "keep": None},
                deliverables=built,
                extra={"unit": json.loads((unit.building / "unit.json").read_text("utf-8"))},
            )
            state.doing = f"move the report of {unit.folder} into place"
            os.rename(unit.building, staging / unit.folder)
            unit.status = "ok"
            return
        bad = [local[-1]]  # the deliverables
    unit.status = "failed"
    lines = [
        _failure_line(r, run.nb_limit, run.run_limit)
        for r in bad
        if r.status in ("failed", "timeout", "oserror")
    ]
    pending = [r.name for r in bad if r.status == "pending"]
    if pending:
        lines.append(f"not run because a notebook it needs did not succeed: {', '.join(pending)}")
    late = [r.name for r in bad if r.status == "skipped"]
    if late:
        lines.append(f"not run: the run's time limit was reached first: {', '.join(late)}")
    unit.lines = [f"{unit.folder} ({unit.label}): {line}" for line in lines]


def _keep_failed(by_dir: Path, run: UnitsRun, failed: list[_Unit]) -> Path | None:
    """Move the failed units' notebooks out of the staging folder, for inspection."""
    if not failed:
        return None
    kept = by_dir / f"{run.date}.failed-{run.started:%H%M%S}"
    if os.path.lexists(kept):
        kept = kept.with_name(f"{kept.name}-{os.getpid()}")
    kept.mkdir()
    for unit in failed:
        if unit.building.exists():
            os.rename(unit.building, kept / unit.folder)
    return kept


def _write_index(
    state: _State,
    study: Study,
    run: UnitsRun,
    staging: Path,
    units: list[_Unit],
    found: dict[str, Any],
    runs: list[NotebookRun],
    study_info: dict[str, Any],
) -> None:
    """Write the units index, ``units.csv`` and the run record of the date."""
    from .cross import significance_phrase
    from .io import write_report_table
    from .pages import finish_page
    from .units import index_table

    state.doing = "write the index of the units"
    plan: pd.DataFrame = found["plan"]
    comparison: pd.DataFrame = found["comparison"]
    status = {u.value: u for u in units}
    table = index_table(plan, comparison)
    wave = str(comparison["wave"].iloc[0]) if len(comparison) else ""
    notes = []
    for k, row in table.iterrows():
        unit = status.get(row["value"])
        if unit is not None and unit.status != "ok":
            table.loc[k, "note"] = "Its report was not produced in this run (a notebook failed)."
            table.loc[k, "report"] = False
        notes.append(table.loc[k, "note"])
    write_report_table(comparison, staging / "units.csv")
    base = (
        f"respondents in {study.wave_label(wave)}" if wave and study.is_multiwave else "respondents"
    )
    footnote = (
        f"Base: {base}. ▲ ▼: significantly higher / lower than the rest of the sample "
        f"(design-based t test{', weighted' if study.is_weighted else ''}, "
        f"{significance_phrase(study, within='over the units of each KPI')})."
    )
    page = units_index_html(
        study_info,
        run.date,
        segment_title=study.segment(run.per).title,
        table=table.to_dict("records"),
        kpis=[c for c in table.columns if c not in _INDEX_KEYS],
        footnote=footnote,
    )
    _write_atomic(staging / "index.html", finish_page(page, style=_font_style([page])))
    finished = dt.datetime.now().astimezone()
    record = {
        "study": study.name,
        "study_file": _rel(study.path, run.root),
        "segment": run.per,
        "date": run.date,
        "status": "ok" if all(u.status == "ok" for u in units) else "partial",
        "started": run.started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - run.started).total_seconds(), 3),
        "units": [
            {
                "value": p.value,
                "label": p.value_label,
                "folder": p.folder
                if p.value in status and status[p.value].status == "ok"
                else None,
                "n": int(p.n),
                "status": status[p.value].status if p.value in status else "too small",
                "note": notes[k + 1],
            }
            for k, p in enumerate(plan.itertuples())
        ],
        "notebooks": [
            {"name": r.name, "status": r.status, "seconds": round(r.seconds, 3)} for r in runs
        ],
    }
    (staging / "run.json").write_text(
        json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


_INDEX_KEYS = {"value", "value_label", "folder", "n", "report", "note"}


def _link_from_study(
    state: _State, study: Study, run: UnitsRun, study_dir: Path, info: dict[str, Any]
) -> None:
    """Rewrite the study's own index page, which links its reports by unit."""
    from ._runpages import study_index_html
    from .pages import finish_page
    from .runner import _short_lock

    try:
        with _short_lock(study_dir / ".lock", info, f"the folder {study_dir}"):
            page = study_index_html(_study_info(study, run.root), study_dir)
            _write_atomic(study_dir / "index.html", finish_page(page, style=_font_style([page])))
    except (OSError, ReportError) as exc:
        state.progress(f"note: the study's index page was not updated: {exc}")
