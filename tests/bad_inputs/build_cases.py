"""Write the study files and data files of the generated bad-input cases.

Each case here is a small change to the valid study of ``config/base.yml`` and its
export ``data/raw/good_w1.csv``: its own data file(s) (bytes, so that encodings, BOMs and
invisible characters are exactly as planted) and changes to the study file. Run from the
project root after changing a case::

    .venv/bin/python tests/bad_inputs/build_cases.py

The expected message of every case is in ``cases.yml`` (written by hand: the test checks
that the code gives exactly that message). The script writes files only; it never
changes ``cases.yml``.
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
RAW = HERE / "data" / "raw"
GOOD = (RAW / "good_w1.csv").read_text(encoding="utf-8")
HEADER, *ROWS = GOOD.splitlines()
COLUMNS = HEADER.split(",")


def csv_text(rows: list[str] | None = None, header: str = HEADER) -> str:
    return "\n".join([header, *(ROWS if rows is None else rows)]) + "\n"


def with_cell(k: int, column: str, value: str, rows: list[str] | None = None) -> list[str]:
    """The good rows with row ``k`` (0-based, first respondent 0) given ``value`` in
    ``column``."""
    out = list(ROWS if rows is None else rows)
    cells = out[k].split(",")
    cells[COLUMNS.index(column)] = value
    out[k] = ",".join(cells)
    return out


def renamed(old: str, new: str, header: str = HEADER) -> str:
    return ",".join(new if c == old else c for c in header.split(","))


def duplicate_column(column: str, new_name: str) -> str:
    """The good file with a copy of ``column`` right after it, its header ``new_name``."""
    at = COLUMNS.index(column)
    lines = [HEADER, *ROWS]
    out = []
    for n, line in enumerate(lines):
        cells = line.split(",")
        cells.insert(at + 1, new_name if n == 0 else cells[at])
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def frame(rows: list[str] | None = None) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv_text(rows)), dtype=str, keep_default_na=False)


def raking(spec: dict, **extra) -> None:
    spec["data"]["design"] = {"weight": "rake_weight"}
    spec["weighting"] = {"margins": {"type": {"a": 0.5, "b": 0.5}}, **extra}


@dataclass
class Case:
    what: str
    files: dict[str, bytes | Callable[[Path], None]] = field(default_factory=dict)
    study: Callable[[dict], None] | None = None
    #: data.files of the study file (default: the first file, wave W1)
    data_files: list[dict] | None = None
    links: dict[str, str] = field(default_factory=dict)


NAMES = ["Müller", "Jürgen", "José", "Françoise", "Zoë", "Señor", "Bjørn", "Ærø", "Løkke", "Åse"]
NAMES += ["Grüße", "Öztürk"]


def _latin_names() -> bytes:
    rows = [r.removesuffix(",") + "," + n for r, n in zip(ROWS, NAMES, strict=False)]
    return csv_text(rows).encode("latin-1")


def _excel(path: Path) -> None:
    from analysis_helpers.io import write_excel_export

    df = frame()
    df.insert(COLUMNS.index("q1") + 1, "q1 ", df["q1"])
    write_excel_export(df, path)


def _parquet(path: Path) -> None:
    from analysis_helpers.io import write_parquet_export

    df = frame()
    df.insert(COLUMNS.index("q3") + 1, "ｑ3", df["q3"])
    write_parquet_export(df, path)


def _spss_weight(path: Path) -> None:
    from analysis_helpers.io import write_spss_export

    write_spss_export(frame(with_cell(2, "wt", "-0.5")).drop(columns="note"), path)


def _excel_base_weight(path: Path) -> None:
    from analysis_helpers.io import write_excel_export

    write_excel_export(frame(with_cell(6, "wt", "0")), path)


def _qualtrics_weight(path: Path) -> None:
    from analysis_helpers.io import write_qualtrics_export

    write_qualtrics_export(frame(with_cell(1, "wt", "-0.5")), path)


def _w2(rows: list[str]) -> list[str]:
    return [r.replace(",W1,", ",W2,").replace("r0", "s0", 1) for r in rows]


def _all_straightlined() -> bytes:
    rows = []
    for r in _w2(ROWS):
        cells = r.split(",")
        for c in ("q1", "q2", "q3", "q4"):
            cells[COLUMNS.index(c)] = "3"
        rows.append(",".join(cells))
    return csv_text(rows).encode()


def _w1_file() -> dict:
    return {"path": "good_w1.csv", "format": "csv", "wave": "W1"}


CASES: dict[str, Case] = {
    # ---- header names normalised before matching ------------------------------------
    "header_trailing_space": Case(
        "a header 'q2 ' (trailing space) next to 'q2'",
        {"header_trailing_space.csv": duplicate_column("q2", "q2 ").encode()},
    ),
    "header_full_width": Case(
        "a header 'ｑ１' (full-width, typed with a Chinese input method) next to 'q1'",
        {"header_full_width.csv": duplicate_column("q1", "ｑ１").encode()},
    ),
    "header_zero_width": Case(
        "a header with a zero-width space before 'q3', next to 'q3'",
        {"header_zero_width.csv": duplicate_column("q3", "\u200bq3").encode()},
    ),
    "header_nbsp": Case(
        "a header 'q4' followed by a non-breaking space, next to 'q4'",
        {"header_nbsp.csv": duplicate_column("q4", "q4\u00a0").encode()},
    ),
    "header_bom_in_name": Case(
        "a second file's BOM pasted into a header name: '\\ufeffwt' next to 'wt'",
        {"header_bom_in_name.csv": duplicate_column("wt", "\ufeffwt").encode()},
    ),
    "header_invisible_only": Case(
        "a header name that is only a zero-width space",
        {"header_invisible_only.csv": duplicate_column("secs", "\u200b").encode()},
    ),
    "header_collision_excel": Case(
        "an Excel export with 'q1 ' next to 'q1'",
        {"header_collision.xlsx": _excel},
        data_files=[{"path": "header_collision.xlsx", "format": "excel", "wave": "W1"}],
    ),
    "header_collision_parquet": Case(
        "a Parquet export with a full-width 'ｑ3' next to 'q3'",
        {"header_collision.parquet": _parquet},
        data_files=[{"path": "header_collision.parquet", "format": "parquet", "wave": "W1"}],
    ),
    "header_collision_names_study_column": Case(
        "'overall' twice once normalised, in a Qualtrics export",
        {
            "header_collision_qualtrics.csv": (
                duplicate_column("overall", "overall\u3000").split("\n", 1)[0]
                + "\n"
                + ",".join(["Question"] * (len(COLUMNS) + 1))
                + "\n"
                + ",".join(['"{""ImportId"":""QID1""}"'] * (len(COLUMNS) + 1))
                + "\n"
                + duplicate_column("overall", "overall\u3000").split("\n", 1)[1]
            ).encode("utf-8-sig")
        },
        data_files=[
            {"path": "header_collision_qualtrics.csv", "format": "qualtrics", "wave": "W1"}
        ],
    ),
    # ---- byte-order marks anywhere ------------------------------------------------------
    "joined_exports_reordered": Case(
        "two exports joined into one file, the second (with its BOM) with columns in another order",
        {
            "joined_reordered.csv": b"\xef\xbb\xbf"
            + csv_text(ROWS[:6]).encode()
            + b"\xef\xbb\xbf"
            + ",".join([COLUMNS[1], COLUMNS[0], *COLUMNS[2:]]).encode()
            + b"\n"
            + "\n".join(
                ",".join([r.split(",")[1], r.split(",")[0], *r.split(",")[2:]]) for r in ROWS[6:]
            ).encode()
            + b"\n"
        },
    ),
    "joined_exports_bad_weight": Case(
        "two exports joined (BOM and header repeated); a zero weight after the join is named "
        "by its row in the file",
        {
            "joined_weight.csv": b"\xef\xbb\xbf"
            + csv_text(ROWS[:6]).encode()
            + b"\xef\xbb\xbf"
            + csv_text(with_cell(8, "wt", "0")[6:]).encode()
        },
    ),
    # ---- encodings chosen by plausibility -------------------------------------------
    "encoding_ambiguous": Case(
        "bytes that read as Chinese (GB18030) and as Western European text (cp1252) alike",
        {
            "encoding_ambiguous.csv": csv_text(
                [r.removesuffix(",") + ",M\xc4\xe3r" for r in ROWS]
            ).encode("latin-1")
        },
    ),
    "encoding_implausible": Case(
        "a UTF-16 export without BOM (Excel 'Unicode text'), neither UTF-8, Chinese nor Latin",
        {"encoding_utf16.csv": csv_text([r + "Ω" for r in ROWS]).encode("utf-16-le")},
    ),
    "encoding_unknown_declared": Case(
        "the study file declares an encoding Python does not know",
        {"encoding_latin.csv": _latin_names()},
        data_files=[
            {"path": "encoding_latin.csv", "format": "csv", "wave": "W1", "encoding": "latin-9x"}
        ],
    ),
    "latin1_item_text": Case(
        "a Latin-1 export (read as cp1252, not as garbled GB18030) whose item q2 holds names",
        {
            "latin1_text.csv": csv_text(
                [
                    ",".join(
                        n if k == COLUMNS.index("q2") else c for k, c in enumerate(r.split(","))
                    )
                    for r, n in zip(ROWS, NAMES, strict=True)
                ]
            ).encode("latin-1")
        },
    ),
    # ---- every row message names file, row, column and the value as read --------------
    "weight_negative": Case(
        "a negative weight in a kept row",
        {"weight_negative.csv": csv_text(with_cell(4, "wt", "-0.5")).encode()},
    ),
    "weight_zero": Case(
        "a zero weight in a kept row",
        {"weight_zero.csv": csv_text(with_cell(7, "wt", "0")).encode()},
    ),
    "weight_blank": Case(
        "a blank weight in two kept rows",
        {"weight_blank.csv": csv_text(with_cell(9, "wt", "", with_cell(2, "wt", " "))).encode()},
    ),
    "weight_text": Case(
        "a weight written as text",
        {"weight_text.csv": csv_text(with_cell(0, "wt", "n/a")).encode()},
    ),
    "weight_second_file": Case(
        "a negative weight in the second wave's file (rows counted in that file)",
        {"weight_w2.csv": csv_text(with_cell(10, "wt", "-2", _w2(ROWS))).encode()},
        data_files=[_w1_file(), {"path": "weight_w2.csv", "format": "csv", "wave": "W2"}],
    ),
    "weight_qualtrics": Case(
        "a negative weight in a Qualtrics export (three header rows: the row is line 5)",
        {"weight_qualtrics.csv": _qualtrics_weight},
        data_files=[{"path": "weight_qualtrics.csv", "format": "qualtrics", "wave": "W1"}],
    ),
    "weight_spss": Case(
        "a negative weight in an SPSS file (the row is the case number)",
        {"weight_spss.sav": _spss_weight},
        data_files=[{"path": "weight_spss.sav", "format": "spss", "wave": "W1"}],
        study=lambda s: s["data"].update(text_columns=[]),
    ),
    "base_weight_zero_excel": Case(
        "a zero base weight for the raking in an Excel export",
        {"base_weight.xlsx": _excel_base_weight},
        data_files=[{"path": "base_weight.xlsx", "format": "excel", "wave": "W1"}],
        study=lambda s: raking(s, base_weight="wt"),
    ),
    "margin_unknown_code": Case(
        "a segment value that is not a code (so not in the raking margins)",
        {"margin_unknown.csv": csv_text(with_cell(5, "type", "c")).encode()},
        study=raking,
    ),
    "margin_blank_code": Case(
        "a blank segment value in a row to be raked",
        {"margin_blank.csv": csv_text(with_cell(3, "type", "")).encode()},
        study=raking,
    ),
    "margin_code_without_target": Case(
        "a segment code the study file lists but the raking margins leave out",
        {"margin_no_target.csv": csv_text(with_cell(8, "type", "c")).encode()},
        study=lambda s: (
            raking(s),
            s["segments"][0]["values"].update(c="Type C"),
        ),
    ),
    # ---- degrade, don't crash: waves named ----------------------------------------------
    "wave_empty_after_cleaning": Case(
        "every respondent of wave W2 straightlines, and the study allows excluding them all",
        {"wave_all_straightlined.csv": _all_straightlined()},
        data_files=[
            _w1_file(),
            {"path": "wave_all_straightlined.csv", "format": "csv", "wave": "W2"},
        ],
        study=lambda s: s["quality"].update(max_excluded_share=1.0),
    ),
    "lonely_psu_setting": Case(
        "data.design.lonely_psu set to a value that is not a rule",
        study=lambda s: s["data"]["design"].update(lonely_psu="certainty"),
        data_files=[_w1_file()],
    ),
    # ---- containment: every path inside the project ---------------------------------------
    "root_outside": Case(
        "data.root climbs out of the project folder",
        study=lambda s: s["data"].update(root="../../../etc"),
        data_files=[{"path": "passwd", "format": "csv", "wave": "W1"}],
    ),
    "root_absolute": Case(
        "data.root is an absolute path outside the project",
        study=lambda s: s["data"].update(root="/etc"),
        data_files=[{"path": "hostname", "format": "csv", "wave": "W1"}],
    ),
    "file_outside": Case(
        "a data file path climbs out of data.root and the project",
        data_files=[_w1_file(), {"path": "../../../../pyproject.toml", "format": "csv"}],
    ),
    "file_absolute": Case(
        "a data file path is absolute",
        data_files=[{"path": "/etc/passwd", "format": "csv", "wave": "W1"}],
    ),
    "file_symlink": Case(
        "a data file is a symbolic link to a file outside the project",
        links={"linked_out.csv": "../../../../README.md"},
        data_files=[{"path": "linked_out.csv", "format": "csv", "wave": "W1"}],
    ),
    "root_symlink": Case(
        "data.root is a symbolic link to a folder outside the project",
        links={"../linked_root": "../../../src"},
        study=lambda s: s["data"].update(root="data/linked_root"),
        data_files=[{"path": "analysis_helpers/io.py", "format": "csv", "wave": "W1"}],
    ),
    "operations_outside": Case(
        "the operations file climbs out of the project",
        study=lambda s: s["data"].update(operations="../../../../.git/config"),
        data_files=[_w1_file()],
    ),
    "paths_outside_all_named": Case(
        "two data files outside the project: both named, one line each",
        data_files=[
            {"path": "../../../tests/bad_inputs/data/raw/good_w1.csv", "wave": "W1"},
            {"path": "/etc/hosts", "wave": "W2"},
        ],
    ),
}


def main() -> None:
    base = yaml.safe_load((HERE / "config" / "base.yml").read_text(encoding="utf-8"))
    for name, case in CASES.items():
        for fname, content in case.files.items():
            path = RAW / fname
            if callable(content):
                content(path)
            else:
                path.write_bytes(content)
        for link, target in case.links.items():
            path = RAW / link
            if path.is_symlink() or path.exists():
                path.unlink()
            os.symlink(target, path)
        spec = copy.deepcopy(base)
        spec["study"]["title"] = f"Bad input: {case.what}"
        if case.data_files is not None:
            spec["data"]["files"] = case.data_files
        else:
            first = next(iter(case.files))
            spec["data"]["files"] = [{"path": first, "format": "csv", "wave": "W1"}]
        if case.study is not None:
            case.study(spec)
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        head = f"# Bad-input case {name!r}: {case.what}.\n# Expected message: cases.yml\n"
        (HERE / "config" / f"{name}.yml").write_text(head + text, encoding="utf-8")


if __name__ == "__main__":
    main()
