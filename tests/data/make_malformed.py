"""Regenerate the malformed-file corpus in tests/data/malformed/ reproducibly."""

from __future__ import annotations

import codecs
import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CORPUS = Path(__file__).resolve().parent / "malformed"


def _csv(rows: list[str]) -> str:
    return "".join(row + "\n" for row in rows)


def utf16_bom() -> bytes:
    text = _csv(["name,city,amount", "José,Málaga,10", "Zoë,Köln,20", "Ñandú,São Paulo,30"])
    return text.encode("utf-16")  # Python writes a BOM first


def cp1252_euro() -> bytes:
    rows = ["item,price,note", "Café,€5,“special”", "Thé,€3,‘mild’ – hot", "Crème,€4,…"]
    return _csv(rows).encode("cp1252")


def latin1_accents() -> bytes:
    rows = ["name,country,score", "José,España,1", "Müller,Österreich,2", "Niño,México,3"]
    return _csv(rows).encode("latin-1")


def utf8_bom() -> bytes:
    return codecs.BOM_UTF8 + _csv(["id,label", "1,ünï", "2,çà"]).encode("utf-8")


def semicolon() -> bytes:
    rows = ["id;name;price", "1;apple;1,50", "2;pear;2,25", "3;plum;0,99", "4;kiwi;3,10"]
    return _csv(rows).encode()


def tabs() -> bytes:
    rows = ["id\tcolour\tsize", "1\tred\t10", "2\tblue\t12", "3\tgreen\t9"]
    return _csv(rows).encode()


def pipes() -> bytes:
    rows = ["id|city|population", "1|Oslo|700000", "2|Bergen|285000", "3|Tromsø|77000"]
    return _csv(rows).encode()


def mixed_delimiters() -> bytes:
    """Header and most lines use ';'; two stray lines use ','."""
    rows = ["id;name;score"] + [f"{i};n{i};{i * 10}" for i in range(1, 9)]
    rows[3] = "3,n3,30"
    rows[6] = "6,n6,60"
    return _csv(rows).encode()


def mostly_wrong_delimiter() -> bytes:
    """Header uses ';' but most data lines use ','."""
    rows = ["id;name;score", "1;a;10"] + [f"{i},n{i},{i}" for i in range(2, 10)]
    return _csv(rows).encode()


def ragged_rows() -> bytes:
    rows = ["a,b,c", "1,2,3", "4,5", "6,7,8", "9,10,11,12", "13,14,15", "16", "17,18,19"]
    return _csv(rows).encode()


def duplicate_names() -> bytes:
    rows = ["id,name,name, ,value,,name,  score  ", "1,a,b,c,10,d,e,5", "2,f,g,h,20,i,j,6"]
    return _csv(rows).encode()


def header_only() -> bytes:
    return b"id,name,value\n"


def empty() -> bytes:
    return b""


def png_image() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def pdf_document() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("data.csv", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, "a,b\n1,2\n")
    return buffer.getvalue()


def binary_noise() -> bytes:
    return bytes((i * 37 + 11) % 256 for i in range(512))


def gzip_csv() -> bytes:
    rows = ["id,region,amount,when"] + [
        f"{i},{['north', 'south', 'east'][i % 3]},{i * 1.5},2024-01-{i % 28 + 1:02d}"
        for i in range(1, 101)
    ]
    return gzip.compress(_csv(rows).encode(), mtime=0)


def events_jsonl() -> bytes:
    lines = [
        '{"id": 1, "kind": "click", "value": 1.5, "ok": true}',
        '{"id": 2, "kind": "view", "value": null, "ok": false}',
        "",
        '{"id": 3, "kind": "click", "value": 2.0, "ok": true}',
    ]
    return _csv(lines).encode()


def broken_jsonl() -> bytes:
    lines = ['{"id": 1, "kind": "a"}', '{"id": 2, "kind": "b"}', '{"id": 3, "kind": ', '{"id": 4}']
    return _csv(lines).encode()


def _parquet_bytes() -> bytes:
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"], "score": [0.5, 0.25, 1.0]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def corrupt_parquet() -> bytes:
    whole = _parquet_bytes()
    return whole[: len(whole) // 2]


def all_null_column() -> bytes:
    return _csv(["id,empty,value", "1,,10", "2,,20", "3,,30"]).encode()


def html_script() -> bytes:
    rows = [
        '<b>name</b>,"<script>alert(1)</script>",note',
        'x,"<img src=x onerror=alert(1)>",<i>hi</i>',
        'y,"<script>alert(2)</script>",&amp;',
    ]
    return _csv(rows).encode()


def dates_and_flags() -> bytes:
    """Forty rows: clear and ambiguous date formats, one column with a non-date, flags."""
    rows = ["id,iso,eu,us,ambiguous,gappy,flag,active,mixed"]
    for i in range(1, 41):
        day = i % 28 + 1
        gappy = "unknown" if i == 7 else f"2023-11-{day:02d}"
        rows.append(
            f"{i},2024-02-{day:02d},{day:02d}/03/2024,03/{day:02d}/2024,"
            f"{i % 12 + 1:02d}/{i * 5 % 12 + 1:02d}/2023,{gappy},"
            f"{'yes' if i % 2 else 'no'},{'True' if i % 3 else 'False'},{'a' if i % 2 else '1'}"
        )
    return _csv(rows).encode()


def money_strings() -> bytes:
    rows = ["id,amount,price", '1,"1,234",$12.50', '2,"12,000",$3.00', '3,"999","$1,000.00"']
    return _csv(rows).encode()


def quoted_newlines() -> bytes:
    rows = ["id,comment,score", '1,"first line\nsecond line",5', '2,"plain",7', "3,oops", "4,x,9"]
    return _csv(rows).encode()


def leading_blank_lines() -> bytes:
    return b"\n\n" + _csv(["a,b", "1,2", "3,4"]).encode()


CORPUS_FILES: dict[str, Callable[[], bytes]] = {
    "utf16_bom.csv": utf16_bom,
    "cp1252_euro.csv": cp1252_euro,
    "latin1_accents.csv": latin1_accents,
    "utf8_bom.csv": utf8_bom,
    "semicolon.csv": semicolon,
    "tabs.tsv": tabs,
    "pipes.txt": pipes,
    "mixed_delimiters.csv": mixed_delimiters,
    "mostly_wrong_delimiter.csv": mostly_wrong_delimiter,
    "ragged_rows.csv": ragged_rows,
    "duplicate_names.csv": duplicate_names,
    "header_only.csv": header_only,
    "empty.csv": empty,
    "png_renamed.csv": png_image,
    "pdf_renamed.csv": pdf_document,
    "zip_renamed.csv": zip_archive,
    "binary_noise.csv": binary_noise,
    "sales.csv.gz": gzip_csv,
    "events.jsonl": events_jsonl,
    "broken.jsonl": broken_jsonl,
    "small.parquet": _parquet_bytes,
    "corrupt.parquet": corrupt_parquet,
    "all_null_column.csv": all_null_column,
    "html_script.csv": html_script,
    "dates_and_flags.csv": dates_and_flags,
    "money_strings.csv": money_strings,
    "quoted_newlines.csv": quoted_newlines,
    "leading_blank_lines.csv": leading_blank_lines,
}


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, make in CORPUS_FILES.items():
        (CORPUS / name).write_bytes(make())
    total = sum(path.stat().st_size for path in CORPUS.iterdir())
    print(f"wrote {len(CORPUS_FILES)} files, {total:,} bytes, to {CORPUS}")


if __name__ == "__main__":
    main()
