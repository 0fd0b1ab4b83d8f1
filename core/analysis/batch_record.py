"""A batch's own files: batch.json (every input with its status) and frames.parquet (every face of every video).
Owns BATCH_JSON, FRAMES_PARQUET, read_batch_record, write_json_atomic, read_frames_table and write_combined_table.

Both are written to a temporary name and renamed into place, so an interrupted run leaves the last whole
version. frames.parquet is rebuilt from the per-video frames.csv files of the batch's finished videos, in
input order: a rerun can never add a video's rows twice, and one that finishes nothing new leaves the file
as it was (batch.json records which frames.csv files it was made from).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core.analysis.recording import FRAMES_CSV

BATCH_JSON, FRAMES_PARQUET = "batch.json", "frames.parquet"
VIDEO_COLUMN = "video"
"""The combined table's first column: the video's name (its folder in the batch's output folder)."""
INTEGER_COLUMNS = frozenset({"frame", "person", "x", "y", "w", "h"})
TEXT_COLUMNS = frozenset({"emotion"})
"""frames.csv's other columns (time, confidence, one probability per emotion) are numbers with a fraction."""


def read_batch_record(out_dir: str | Path) -> dict:
    """The last run's batch.json, or ``{}`` when there is none (or it cannot be read)."""
    try:
        record = json.loads((Path(out_dir) / BATCH_JSON).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def write_json_atomic(path: str | Path, content: dict) -> None:
    _replace_with(Path(path), json.dumps(content, indent=2).encode())


def _replace_with(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_frames_table(source, video: str | None = None) -> pa.Table:
    """A frames.csv (path or file object) as typed columns; with ``video``, a first column of that name."""
    with open(source, "rb") if isinstance(source, str | Path) else contextlib.nullcontext(source) as handle:
        header = handle.readline().decode().strip().split(",")
        handle.seek(0)
        types = {name: _column_type(name) for name in header}
        table = pa_csv.read_csv(handle, convert_options=pa_csv.ConvertOptions(column_types=types))
    if video is not None:
        table = table.add_column(0, VIDEO_COLUMN, pa.array([video] * table.num_rows, pa.string()))
    return table


def _column_type(name: str) -> pa.DataType:
    if name in INTEGER_COLUMNS:
        return pa.int64()
    return pa.string() if name in TEXT_COLUMNS else pa.float64()


def table_sources(out_dir: str | Path, names: Sequence[str]) -> list[list]:
    """[name, size, modification time] of each named video's frames.csv: what the combined table is made of."""
    sources = []
    for name in names:
        stat = (Path(out_dir) / name / FRAMES_CSV).stat()
        sources.append([name, stat.st_size, stat.st_mtime_ns])
    return sources


def write_combined_table(out_dir: str | Path, names: Sequence[str], previous: dict | None = None) -> dict:
    """frames.parquet of the named videos' frames.csv, in this order, one row group per video; what batch.json
    records of it. Left as it is when ``previous`` (the last record) says it was made of the same files."""
    out_dir = Path(out_dir)
    target = out_dir / FRAMES_PARQUET
    sources = table_sources(out_dir, names)
    if previous and previous.get("sources") == sources and target.is_file():
        return previous
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for name in names:  # one video in memory at a time, however long the batch
            table = read_frames_table(out_dir / name / FRAMES_CSV, name)
            if writer is None:
                writer = pq.ParquetWriter(temporary, table.schema)
            writer.write_table(_conform(table, writer.schema))
            rows += table.num_rows
        if writer is None:  # no video finished: an empty table, just the video column
            writer = pq.ParquetWriter(temporary, pa.schema([(VIDEO_COLUMN, pa.string())]))
        writer.close()
        writer = None
        os.replace(temporary, target)
    finally:
        if writer is not None:
            writer.close()
        temporary.unlink(missing_ok=True)
    return {"file": FRAMES_PARQUET, "rows": rows, "videos": len(names), "sources": sources}


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in its order; a column it lacks is all missing values."""
    if table.schema.equals(schema):
        return table
    columns = [table.column(field.name).cast(field.type) if field.name in table.column_names
               else pa.nulls(table.num_rows, field.type) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)
