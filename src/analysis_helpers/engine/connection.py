"""Running the engine's statements: DuckDB over Parquet files, a folder of parts or a frame."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlglot import exp

from .sql import SOURCE, render

__all__ = ["DuckEngine", "parquet_files", "DEFAULT_MEMORY_LIMIT"]

log = logging.getLogger("analysis_helpers.engine")

#: DuckDB's memory limit unless the caller sets one (it spills to disk beyond it)
DEFAULT_MEMORY_LIMIT = "2GB"


def parquet_files(source: str | Path | Sequence[str | Path]) -> list[str]:
    """Return the Parquet files of ``source``: a file, a folder (its ``*.parquet``, nested) or a list.

    Raises
    ------
    FileNotFoundError
        A path does not exist, or a folder holds no Parquet file.
    """
    paths = [source] if isinstance(source, str | Path) else list(source)
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.parquet"))
            if not found:
                raise FileNotFoundError(f"engine: folder {str(p)!r} holds no .parquet file")
            out += found
        elif p.exists():
            out.append(str(p))
        else:
            raise FileNotFoundError(f"engine: no such file or folder {str(p)!r}")
    if not out:
        raise FileNotFoundError("engine: no Parquet file given")
    return out


class DuckEngine:
    """A DuckDB connection whose table :data:`~.sql.SOURCE` is the survey data.

    Parameters
    ----------
    source : path, list of paths or DataFrame
        Parquet file(s) or folder(s) of Parquet parts (read in place, never loaded whole),
        or a DataFrame (scanned in place).
    memory_limit : str
        DuckDB's memory limit (``"2GB"``); larger aggregations spill to ``temp_directory``.
    threads : int, optional
        Worker threads (default: DuckDB's, one per core).
    temp_directory : str, optional
        Where DuckDB spills (default: DuckDB's own, ``<database>.tmp``).
    """

    dialect = "duckdb"

    def __init__(
        self,
        source: str | Path | Sequence[str | Path] | pd.DataFrame,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int | None = None,
        temp_directory: str | None = None,
    ) -> None:
        import duckdb

        config: dict[str, Any] = {"memory_limit": memory_limit}
        if threads:
            config["threads"] = int(threads)
        if temp_directory:
            config["temp_directory"] = str(temp_directory)
        # insertion order is irrelevant for sums: it lets DuckDB stream and spill freely
        config["preserve_insertion_order"] = False
        self.con = duckdb.connect(":memory:", config=config)
        if isinstance(source, pd.DataFrame):
            self.con.register("survey_frame", source)
            self.con.execute(f"CREATE VIEW {SOURCE} AS SELECT * FROM survey_frame")
            self.files: list[str] = []
        else:
            self.files = parquet_files(source)
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in self.files)
            self.con.execute(
                f"CREATE VIEW {SOURCE} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
            )
        self.statements: list[str] = []

    def columns(self) -> list[str]:
        """Return the column names of the data."""
        return [r[0] for r in self.con.execute(f"DESCRIBE {SOURCE}").fetchall()]

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make ``frame`` a table named ``name`` for the statements (parameters)."""
        self.con.register(name, frame)

    def query(self, statement: exp.Expr) -> pd.DataFrame:
        """Run a statement and return its result as a DataFrame."""
        text = render(statement, self.dialect)
        self.statements.append(text)
        return self.con.execute(text).df()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> DuckEngine:
        """Return the engine (a context manager closes it)."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the engine."""
        self.close()


def file_size(source: str | Path | Sequence[str | Path]) -> int:
    """Return the bytes on disk of the Parquet files of ``source``."""
    return sum(os.path.getsize(f) for f in parquet_files(source))
