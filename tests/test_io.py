"""Readers of every export format, the stacked raw data, the bad-input corpus, and the
reproducible writers used by the demo generator."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis_helpers.cleaning import CleaningError, clean
from analysis_helpers.demo import DemoSpec, write_demo
from analysis_helpers.io import (
    DataFileError,
    read_csv_export,
    read_excel_export,
    read_export,
    read_operations,
    read_parquet_export,
    read_qualtrics_export,
    read_spss_export,
    read_study_files,
    write_excel_export,
    write_parquet_export,
    write_qualtrics_export,
    write_spss_export,
)
from analysis_helpers.study import StudyFileError, load_study

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((BAD / "cases.yml").read_text(encoding="utf-8"))


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rid": ["r1", "r2", "r3"],
            "q1": [5, None, "N/A"],
            "q2": [1, 99, 3],
            "city": ["北京", "上海 €", "<b>x</b>"],
            "wt": [0.5, 1.25, 1.0],
        }
    )


def test_csv_encodings_detected_and_declared(tmp_path, frame):
    text = frame.to_csv(index=False, lineterminator="\n")
    for enc, detected in [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")]:
        p = tmp_path / f"{enc}.csv"
        p.write_bytes(text.encode(enc))
        got = read_csv_export(p)
        assert got.meta.encoding == detected
        assert list(got.data["city"]) == ["北京", "上海 €", "<b>x</b>"]
        assert list(read_csv_export(p, encoding=enc).data.columns) == list(frame.columns)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(frame.assign(city=["北京", "上海", "广州"]).to_csv(index=False).encode("gbk"))
    assert read_csv_export(gbk, encoding="gbk").data["city"].iloc[2] == "广州"


def test_csv_values_stay_text_and_blank_is_missing(tmp_path, frame):
    p = tmp_path / "x.csv"
    p.write_text(frame.to_csv(index=False), encoding="utf-8")
    data = read_csv_export(p).data
    assert data["q1"].iloc[2] == "N/A"  # not turned into a missing value
    assert pd.isna(data["q1"].iloc[1])
    assert data["wt"].iloc[1] == "1.25"
    assert all(str(t) == "str" for t in data.dtypes)


def test_undecodable_file_names_file_line_and_fix(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1") + b"\x81\x30\xff\n")
    with pytest.raises(DataFileError, match=r"latin\.csv: cannot decode the file: not UTF-8"):
        read_csv_export(p)
    with pytest.raises(DataFileError, match=r"unknown encoding 'klingon'"):
        read_csv_export(p, encoding="klingon")


def test_qualtrics_three_header_rows(tmp_path, frame):
    p = write_qualtrics_export(frame, tmp_path / "q.csv", question_text={"q1": "How happy?"})
    got = read_qualtrics_export(p)
    assert len(got.data) == 3 and got.meta.header_rows == 3
    assert got.meta.variable_labels["q1"] == "How happy?"
    assert got.meta.import_ids["q1"] == "QID2"
    assert got.data["city"].iloc[0] == "北京"


def test_excel_named_sheet(tmp_path, frame):
    p = write_excel_export(frame, tmp_path / "x.xlsx", sheet="Responses")
    got = read_excel_export(p, sheet="Responses")
    assert list(got.data["q1"])[0] == "5" and got.data["q1"].iloc[2] == "N/A"
    assert got.data["wt"].iloc[1] == "1.25"
    with pytest.raises(
        DataFileError, match=r"no sheet named 'Data'; the workbook has sheets \['Responses'\]"
    ):
        read_excel_export(p, sheet="Data")


def test_spss_labels_and_user_missing(tmp_path, frame):
    p = write_spss_export(
        frame.drop(columns="q1"),
        tmp_path / "x.sav",
        variable_labels={"q2": "Second question"},
        value_labels={"q2": {1: "Bad", 99: "Don't know"}},
        user_missing={"q2": [99]},
    )
    got = read_spss_export(p)
    assert got.meta.variable_labels["q2"] == "Second question"
    assert got.meta.value_labels["q2"][99] == "Don't know"
    assert got.meta.user_missing["q2"] == [99]
    assert list(got.data["q2"]) == ["1", "99", "3"]  # kept as values, mapped by cleaning
    assert got.meta.header_rows == 0


def test_parquet(tmp_path, frame):
    p = write_parquet_export(frame, tmp_path / "x.parquet")
    got = read_parquet_export(p)
    assert list(got.data["q2"]) == ["1", "99", "3"]
    assert got.data["q1"].iloc[2] == "N/A"
    with pytest.raises(ValueError, match="unknown format 'dbf'"):
        read_export(p, format="dbf")


def test_readers_name_missing_and_broken_files(tmp_path):
    for fmt in ["csv", "excel", "spss", "qualtrics", "parquet"]:
        with pytest.raises(DataFileError, match=r"nope: file not found"):
            read_export(tmp_path / "nope", format=fmt)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(DataFileError, match="not a readable .xlsx workbook"):
        read_excel_export(bad)
    with pytest.raises(DataFileError, match="not a readable SPSS .sav file"):
        read_spss_export(bad)
    with pytest.raises(DataFileError, match="not a readable Parquet file"):
        read_parquet_export(bad)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty\.csv: the file is empty"):
        read_csv_export(empty)


def test_demo_raw_data_provenance_and_alignment():
    study = load_study("config/demo.yml")
    raw = read_study_files(study)
    assert set(raw.files["format"]) == {"csv", "excel", "spss", "qualtrics", "parquet"}
    enc = raw.files.set_index("file")["encoding"]
    assert enc["wave_2024Q1.csv"] == "utf-8-sig" and enc["wave_2024Q2.csv"] == "gb18030"
    first = raw.frame.groupby("_file")["_row"].min()
    assert first["wave_2024Q1.csv"] == 2 and first["wave_2025Q1.csv"] == 4
    assert first["wave_2024Q4.sav"] == 1 and first["wave_2025Q2.parquet"] == 1
    assert (raw.alignment["status"] == "all waves").all()
    assert raw.frame[study.wave_column].notna().all()
    assert raw.meta["wave_2024Q4.sav"].user_missing["brand_trust"] == [-99, 99]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_corpus_gives_its_exact_message(case, monkeypatch):
    monkeypatch.chdir(ROOT)  # messages show paths relative to the project root
    expected = CASES[case]
    before = {p: p.read_bytes() for p in (BAD / "data" / "raw").iterdir()}
    error = {
        "DataFileError": DataFileError,
        "StudyFileError": StudyFileError,
        "CleaningError": CleaningError,
    }[expected["error"]]
    with pytest.raises(error) as info:
        clean(load_study(f"tests/bad_inputs/config/{case}.yml"))
    assert str(info.value) == expected["message"]
    assert {p: p.read_bytes() for p in (BAD / "data" / "raw").iterdir()} == before


def test_demo_files_are_byte_identical_across_runs(tmp_path):
    """xlsx and sav writers embed the time: written a second apart, still identical."""

    def digest(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    small = DemoSpec(respondents_per_wave=60)
    write_demo(tmp_path / "a", small)
    time.sleep(1.1)
    write_demo(tmp_path / "b", small)
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a == b
    assert {"wave_2024Q3.xlsx", "wave_2024Q4.sav", "wave_2025Q2.parquet"} <= set(a)


def test_read_operations():
    study = load_study("config/demo.yml")
    ops = read_operations(study)
    assert list(ops.columns) == ["wave", "region", "hotline_wait_min"]
    assert ops["hotline_wait_min"].dtype == "float64"
    assert set(ops["wave"]) == set(study.waves)
