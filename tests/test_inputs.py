"""Input that must neither fool nor harm the report (issue 10): header names normalised,
byte-order marks anywhere, encodings by plausibility, paths kept inside the project, items
without answers left out of the index, the lonely-PSU setting, thin and empty waves.

The bad-input corpus (tests/bad_inputs, run by test_io and test_cleaning) holds the exact
messages; these tests check what goes right."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cleaning import make_study, wave_frame

from analysis_helpers.cleaning import check_data, clean, cleaning_takeaways, load_clean
from analysis_helpers.estimation import survey_mean
from analysis_helpers.io import normalise_name, read_csv_export, write_processed
from analysis_helpers.kpis import csi
from analysis_helpers.study import DATA_DIRS_ENV, StudyFileError, load_study
from analysis_helpers.study_tables import study_design


# ---- headers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    [
        "osat",
        " osat ",
        "osat\u00a0",
        "\ufeffosat",
        "os\u200bat",
        "ｏｓａｔ",
        "\u3000osat",
        "osat\t",
    ],
)
def test_header_names_are_normalised(given):
    assert normalise_name(given) == "osat"


def test_normalised_headers_match_the_study_file(tmp_path):
    df = wave_frame(n=12)
    body = df.to_csv(index=False, lineterminator="\n").split("\n", 1)[1]
    header = "\ufeffｒｉｄ,type ,wt,secs,q1\u200b,q2,q3,q4,overall,note\u00a0\n"
    study = make_study(tmp_path, {"W1": df})
    (tmp_path / "data" / "raw" / "W1.csv").write_text(header + body, encoding="utf-8")
    result = clean(study)
    assert len(result.data) == 12
    assert result.data["q1"].tolist() == df["q1"].astype(float).tolist()
    assert result.data["rid"].iloc[0] == "r000"


# ---- byte-order marks anywhere --------------------------------------------------------------
def test_a_bom_in_the_middle_does_not_make_one_respondent_two(tmp_path):
    """Two exports joined: the second part's BOM sits before a repeated id and a repeated
    header. The duplicate is found (same id), the repeated header row is left out and
    listed, and rows keep their place in the file."""
    df = wave_frame(n=12)
    first = df.iloc[:8].to_csv(index=False, lineterminator="\n")
    second = df.iloc[7:].to_csv(index=False, lineterminator="\n")  # r007 again
    study = make_study(tmp_path, {"W1": df})
    path = tmp_path / "data" / "raw" / "W1.csv"
    path.write_bytes(b"\xef\xbb\xbf" + first.encode() + b"\xef\xbb\xbf" + second.encode())
    result = clean(study)
    assert result.funnel["read"].tolist() == [13]
    assert result.exclusions["rid"].tolist() == ["r007"]
    assert "duplicate_id" in result.exclusions["reasons"].iloc[0]
    assert result.exclusions["_row"].tolist() == [11]  # line 10 is the repeated header
    assert result.data["rid"].str.contains("\ufeff").sum() == 0
    repeated = result.problems[result.problems["rule"] == "repeated_header"]
    assert repeated["row"].tolist() == [10]
    found = check_data(study)
    assert "data/raw/W1.csv: row 10: column 'rid': value 'rid': 1 row that repeats the header" in (
        "\n".join(found["message"])
    )


def test_a_bom_inside_a_value_is_removed(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n1,\xef\xbb\xbfyes\n\xef\xbb\xbf2,no\n")
    data = read_csv_export(p).data
    assert data["a"].tolist() == ["1", "2"] and data["b"].tolist() == ["yes", "no"]


# ---- encodings ------------------------------------------------------------------------------
LATIN = "rid,name,city\n1,Müller,Köln\n2,Sören,Mölln\n3,Françoise,Besançon\n4,Jürgen,Düsseldorf\n"


def test_latin1_that_decodes_as_gb18030_is_read_as_latin(tmp_path):
    raw = LATIN.encode("latin-1")
    raw.decode("gb18030")  # the trap: it does decode, garbled
    p = tmp_path / "latin.csv"
    p.write_bytes(raw)
    got = read_csv_export(p)
    assert got.meta.encoding == "cp1252"
    assert got.data["name"].tolist() == ["Müller", "Sören", "Françoise", "Jürgen"]


@pytest.mark.parametrize("enc", ["gbk", "gb18030"])
def test_chinese_exports_are_still_read_as_chinese(tmp_path, enc):
    text = "rid,城市,性别,备注\n1,北京,男,服务很好\n2,上海,女,网络太慢了\n3,广州,男,\n"
    p = tmp_path / "zh.csv"
    p.write_bytes(text.encode(enc))
    got = read_csv_export(p)
    assert got.meta.encoding == "gb18030"
    assert got.data["城市"].tolist() == ["北京", "上海", "广州"]


def test_a_declared_encoding_is_used_as_declared(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(LATIN.encode("latin-1"))
    assert read_csv_export(p, encoding="latin-1").data["city"].iloc[1] == "Mölln"


# ---- containment ----------------------------------------------------------------------------
def test_paths_inside_the_project_are_accepted(tmp_path):
    study = make_study(tmp_path, {"W1": wave_frame(n=12)})
    spec = study.path.read_text(encoding="utf-8")
    absolute = spec.replace("root: data/raw", f"root: {tmp_path / 'data' / 'raw'}")
    study.path.write_text(absolute, encoding="utf-8")
    assert load_study(study.path).raw_dir == tmp_path / "data" / "raw"
    # a symbolic link that stays inside the project is fine
    os.symlink("W1.csv", tmp_path / "data" / "raw" / "link.csv")
    study.path.write_text(spec.replace("path: W1.csv", "path: link.csv"), encoding="utf-8")
    assert len(clean(load_study(study.path)).data) == 12


def test_an_allowed_data_folder_outside_the_project(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    project = tmp_path / "project"
    study = make_study(project, {"W1": wave_frame(n=12)})
    (project / "data" / "raw").rename(shared)
    text = study.path.read_text(encoding="utf-8").replace("root: data/raw", f"root: {shared}")
    study.path.write_text(text, encoding="utf-8")
    monkeypatch.delenv(DATA_DIRS_ENV, raising=False)
    with pytest.raises(StudyFileError, match=r"data\.root: '.*shared' is outside the project"):
        load_study(study.path)
    monkeypatch.setenv(DATA_DIRS_ENV, os.pathsep.join(["/nonexistent", str(shared)]))
    assert len(clean(load_study(study.path)).data) == 12


def test_paths_are_checked_even_without_the_file_check(tmp_path):
    study = make_study(tmp_path, {"W1": wave_frame(n=12)})
    text = study.path.read_text(encoding="utf-8").replace("path: W1.csv", "path: ../../../x.csv")
    study.path.write_text(text, encoding="utf-8")
    with pytest.raises(StudyFileError, match=r"data\.files\[0\]\.path: '\.\./\.\./\.\./x\.csv' is"):
        load_study(study.path, check_files=False)


# ---- degrade, don't crash -------------------------------------------------------------------
def test_an_item_without_answers_is_left_out_of_the_index(tmp_path):
    df = wave_frame(n=20).assign(q3=99)  # the missing code in every row
    study = make_study(tmp_path, {"W1": df})
    result = clean(study)
    assert study.unanswered_items == ["q3"]
    assert study.index_items() == ["q1", "q2", "q4"]
    assert "q3" not in study.hierarchy()["item"].tolist()
    assert result.dictionary.set_index("item")["in_index"].to_dict() == {
        "q1": True, "q2": True, "q3": False, "q4": True, "overall": False,
    }  # fmt: skip
    assert study.index_note() == (
        "Q3 has no answers in the data: it is left out of the satisfaction index, which rolls "
        "up the other items."
    )
    assert "Q3 has no answers at all: left out of the satisfaction index" in str(
        cleaning_takeaways(result, study)["dictionary"]
    )
    table = csi(result.data, hierarchy=study.hierarchy(), design=study_design(study))
    index = table.set_index("name")["estimate"]
    assert np.isfinite(index["index"])
    scaled = 100 * (result.data[["q1", "q2", "q4"]] - 1) / 4
    assert index["index"] == pytest.approx(scaled.mean().mean())
    # the processed file read back marks the same item
    write_processed(result, study)
    again = load_study(study.path)
    load_clean(again)
    assert again.unanswered_items == ["q3"]


def test_lonely_psu_from_the_study_file(tmp_path):
    study = make_study(tmp_path, {"W1": wave_frame(n=20)}, **{"data.design.lonely_psu": "adjust"})
    assert study.lonely_psu == "adjust"
    assert study_design(study).lonely_psu == "adjust"
    assert "lonely_psu" not in study.design_columns()
    one = clean(study).data.head(1)
    assert survey_mean(one, items="q1", design=study_design(study))["se"].iloc[0] == 0
    default = make_study(tmp_path / "d", {"W1": wave_frame(n=20)})
    with pytest.raises(ValueError, match=r"set data\.design\.lonely_psu in the study file"):
        survey_mean(one, items="q1", design=study_design(default))


def test_a_wave_of_one_respondent_is_named(tmp_path):
    w2 = wave_frame(n=1, prefix="s")
    study = make_study(tmp_path, {"W1": wave_frame(n=20), "W2": w2})
    found = check_data(study)
    assert (
        "small.yml: wave 'W2': 1 respondent left after cleaning (of 1 read): its estimates "
        "have no margin of error, and an analysis of that wave alone stops on a lonely PSU "
        "unless data.design.lonely_psu is 'adjust' or 'remove'"
    ) in found["message"].tolist()


def test_errors_after_cleaning_name_the_row_of_origin(tmp_path):
    """A kept row's bad weight is named by its file and row, with the value as read,
    whichever file and wherever it sits."""
    w2 = wave_frame(n=20, prefix="s")
    w2["wt"] = w2["wt"].astype(object)
    w2.loc[13, "wt"] = "-0.5"
    study = make_study(tmp_path, {"W1": wave_frame(n=20), "W2": w2})
    with pytest.raises(Exception) as info:
        clean(study)
    assert str(info.value).startswith("data/raw/W2.csv: row 15: column 'wt': value '-0.5': ")
    assert "nan" not in str(info.value)


def test_excluded_rows_with_bad_weights_do_not_stop_the_cleaning(tmp_path):
    df = wave_frame(n=20)
    df["wt"] = df["wt"].astype(object)
    df.loc[19, "wt"] = "0"
    df.loc[19, "rid"] = "r000"  # a duplicate: excluded anyway
    result = clean(make_study(tmp_path, {"W1": df}))
    assert len(result.data) == 19 and result.exclusions["rid"].tolist() == ["r000"]


def test_findings_are_a_frame_with_rows(tmp_path):
    found = check_data(make_study(tmp_path, {"W1": wave_frame(n=20)}))
    assert isinstance(found, pd.DataFrame) and (found["severity"] != "error").all()


ROOT = Path(__file__).resolve().parents[1]
