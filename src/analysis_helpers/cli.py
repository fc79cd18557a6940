"""Command line: ``python -m analysis_helpers <command>``.

Commands
--------
report       execute the pipeline notebooks into ``reports/<study>/YYYY-MM-DD/``
demo-data    write the demo study's raw files (seeded, byte-identical for a seed)
validate     check a study file and its data files; exit 1 on data errors, 2 on study-file errors
draft-study  write a commented starting study file from an export (.sav, .xlsx, .csv)

Each command imports what it needs inside its function, so that ``--help`` and a mistyped
command answer at once, without loading pandas, papermill or the estimators.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

__all__ = ["main"]


def _parameter(text: str) -> tuple[str, object]:
    """Parse ``name=value``; the value is read as YAML (safely).

    Values: 3, 0.5, true, text, or a list of such values ``[2024Q1, 2025Q1]``. Mappings and
    YAML tags are refused; a date stays the text it was typed as.
    """
    import datetime as dt

    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        parsed = yaml.safe_load(value) if value else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise argparse.ArgumentTypeError(
            f"{name}: cannot read {value!r} ({problem}); quote text that YAML reads otherwise"
        ) from None

    def plain(v: object) -> object:
        if isinstance(v, dt.date):  # 2026-01-31: the text, not a Python date
            return v.isoformat()
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, str | int | float | bool | None):
            return v
        raise argparse.ArgumentTypeError(
            f"{name}: a value or a list of values is allowed, not a mapping: {value!r}"
        )

    if isinstance(parsed, dt.date) and not isinstance(parsed, dt.datetime):
        return name, value.strip()
    return name, plain(parsed)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis_helpers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    from .runner import EXIT_CODES

    codes = "\n".join(f"  {code:>3}  {what}" for code, what in EXIT_CODES.items())
    r = sub.add_parser(
        "report",
        help="produce a dated report of a study",
        description="Execute the pipeline notebooks of a study into "
        "<out>/<study>/YYYY-MM-DD/ (default out: reports/), with an index of studies at "
        "<out>/index.html and a link <out>/<study>/latest to the newest report.",
        epilog="exit status (for schedulers; `make report` turns every failure into 2):\n" + codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--study", default="config/demo.yml", help="study file (default: %(default)s)")
    r.add_argument("--date", help="report date YYYY-MM-DD (default: today)")
    r.add_argument("--out", help="reports folder (default: reports/)")
    r.add_argument(
        "-p",
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter override, read as YAML: a value or a list such as "
        "waves=[2024Q1,2025Q1] (repeatable)",
    )
    r.add_argument(
        "--force",
        action="store_true",
        help="replace an existing report of that study and date (decided at the final move)",
    )
    r.add_argument(
        "--per",
        metavar="SEGMENT",
        help="one report per value of this segment (e.g. region), each with only that "
        "unit's respondents and a comparison against the total, plus an index of the units: "
        "<out>/<study>/by-<segment>/YYYY-MM-DD/",
    )
    r.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="STUDY",
        help="another study file reported in the same run with the same options, sharing "
        "its workers (e.g. config/demo-zh.yml, the demo in Chinese); may be repeated",
    )
    r.add_argument("--workers", type=int, help="notebooks run at once (default: cores)")
    r.add_argument(
        "--only",
        nargs="+",
        metavar="NOTEBOOK",
        help="run only these notebooks, e.g. 20-describe (cleaning always runs)",
    )
    r.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="time limit per notebook, 0 for none (default: runner.notebook_timeout of the "
        "study file, 1800)",
    )
    r.add_argument(
        "--run-timeout",
        type=float,
        metavar="SECONDS",
        help="time limit of the whole run, 0 for none (default: runner.run_timeout, 7200)",
    )
    r.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="keep the newest N reports of the study, remove older ones (default: "
        "runner.keep; all)",
    )
    r.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run of the same study to finish, then refuse "
        "(default: refuse at once)",
    )
    bar = r.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress_bar",
        action="store_const",
        const=True,
        default=None,
        help="show a live bar of the notebooks done (default: only at a terminal, not in CI)",
    )
    bar.add_argument(
        "--no-progress",
        dest="progress_bar",
        action="store_const",
        const=False,
        help="never show the bar (the progress lines are printed all the same)",
    )
    d = sub.add_parser("demo-data", help="write the demo study's raw files")
    d.add_argument("--out", default="data/raw/demo", help="folder (default: %(default)s)")
    d.add_argument("--seed", type=int, help="random seed (default: the shipped demo's)")
    d.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when the folder already has the study's files",
    )
    v = sub.add_parser(
        "validate",
        help="check a study file and its data (exit 1: data errors, 2: study-file errors)",
    )
    v.add_argument("--study", default="config/demo.yml", help="study file (default: %(default)s)")
    v.add_argument(
        "--no-data", action="store_true", help="check the study file only, not the data files"
    )
    v.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    v.add_argument(
        "--max-warnings", type=int, default=40, help="warnings shown (default: %(default)s)"
    )
    s = sub.add_parser("draft-study", help="write a commented starting study file from an export")
    s.add_argument("file", help="the export: .sav, .xlsx, .csv (plain or Qualtrics), .parquet")
    s.add_argument("--out", help="the study file to write (default: config/<name>.yml)")
    s.add_argument("--name", help="the study name (default: from the file name)")
    s.add_argument("--force", action="store_true", help="replace an existing study file")
    return p


def _validate(args: argparse.Namespace) -> int:
    """Run the ``validate`` command: the study file, then one pass over the data."""
    import time

    from .cleaning import check_data
    from .study import load_study

    study = load_study(args.study)
    print(
        f"{study.path}: study file OK - study {study.name!r}, {len(study.spec.items)} items, "
        f"{study.n_waves} wave{'s' if study.n_waves != 1 else ''}, {len(study.segments)} "
        f"segment{'s' if len(study.segments) != 1 else ''}, {len(study.data_files())} data "
        f"file{'s' if len(study.data_files()) != 1 else ''}"
    )
    if args.no_data:
        return 0
    start = time.perf_counter()
    findings = check_data(study)
    seconds = time.perf_counter() - start
    counts = findings["severity"].value_counts()
    errors, warnings = int(counts.get("error", 0)), int(counts.get("warning", 0))
    shown_warnings = 0
    for f in findings.itertuples(index=False):
        if f.severity == "warning":
            shown_warnings += 1
            if shown_warnings > args.max_warnings:
                continue
        stream = sys.stderr if f.severity == "error" else sys.stdout
        print(f"{f.severity}: {f.message}", file=stream)
    if shown_warnings > args.max_warnings:
        print(f"... and {shown_warnings - args.max_warnings} more warnings (--max-warnings)")
    failed = errors > 0 or (args.strict and warnings > 0)
    verdict = "FAILED" if failed else "OK"
    print(
        f"data {verdict}: {errors} error{'s' if errors != 1 else ''}, {warnings} "
        f"warning{'s' if warnings != 1 else ''} ({seconds:.1f} s)"
    )
    return 1 if failed else 0


def _demo_complete(folder: Path) -> bool:
    """Return whether ``folder`` has every demo file and a truths.json of this demo version.

    Every file the demo study file names must be there, and the truths.json must be of
    this version of the demo (:data:`analysis_helpers.demo.DEMO_VERSION`).
    """
    from .demo import DEMO_VERSION
    from .study import StudyFileError, load_study, project_root

    truths = folder / "truths.json"
    if not truths.is_file():
        return False
    try:
        version = json.loads(truths.read_text(encoding="utf-8")).get("demo_version")
    except (OSError, ValueError, AttributeError):
        return False
    if version != DEMO_VERSION:
        return False  # written by an older generator: write the demo again
    try:
        study = load_study(project_root() / "config" / "demo.yml")
    except StudyFileError:
        return False
    if study.raw_dir.resolve() != folder.resolve():
        return True
    return all(p.is_file() for p in study.data_files()) and (folder / "operations.csv").is_file()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    # siblings are imported per command, on purpose: `--help` takes 0.14 s, importing
    # them all (pandas, pydantic, pyarrow, matplotlib through the runner) about 3 s
    from .study import StudyFileError, project_root

    try:
        if args.command == "report":
            from .runner import EXIT_OS, ReportError, run_report

            try:
                run_report(
                    args.study,
                    date=args.date,
                    out=args.out,
                    parameters=dict(args.parameter),
                    force=args.force,
                    workers=args.workers,
                    only=args.only,
                    timeout=args.timeout,
                    run_timeout=args.run_timeout,
                    keep=args.keep,
                    wait=args.wait,
                    per=args.per,
                    progress_bar=args.progress_bar,
                    also=args.also,
                )
            except ReportError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return exc.exit_code
            except KeyboardInterrupt:  # Ctrl-C before the runner took over the signals
                print("error: stopped by SIGINT", file=sys.stderr)
                return 130
            except OSError as exc:  # anything the runner did not word itself
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_OS
        elif args.command == "demo-data":
            from .demo import DemoSpec, write_demo

            out = Path(args.out)
            out = out if out.is_absolute() else project_root() / out
            if args.if_missing and _demo_complete(out):
                print(f"demo data present in {out}")
                return 0
            spec = DemoSpec() if args.seed is None else DemoSpec(seed=args.seed)
            files = write_demo(out, spec)
            print(f"wrote {len(files)} files to {out}")
        elif args.command == "validate":
            return _validate(args)
        elif args.command == "draft-study":
            return _draft_study(args)
    except StudyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _draft_study(args: argparse.Namespace) -> int:
    """Run the ``draft-study`` command: write a starting study file, then validate it."""
    from .draft import write_draft
    from .io import DataFileError
    from .study import StudyFileError, load_study

    try:
        target = write_draft(args.file, out=args.out, name=args.name, force=args.force)
    except (FileExistsError, DataFileError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    try:
        study = load_study(target)
    except StudyFileError as exc:
        print(f"the draft does not validate yet (see its TODO comments):\n{exc}", file=sys.stderr)
        return 1
    print(
        f"it validates: {len(study.spec.items)} items, {len(study.segments)} segments, "
        f"{study.n_waves} wave{'s' if study.n_waves != 1 else ''}; fill in its TODO comments, "
        f"then run: python -m analysis_helpers validate --study {target}"
    )
    return 0
