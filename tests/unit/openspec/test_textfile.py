"""``read_text`` reads what text-mode ``open(..., encoding="utf-8", errors="replace")`` reads, errors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.openspec.textfile import read_text


def _text_mode(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


@pytest.mark.parametrize(
    "data",
    [
        b"# Spec\n\n## Purpose\nplain\n",
        b"crlf\r\nline\r\n",
        b"lone\rcr\r\r\nmixed\n\r",
        b"\xef\xbb\xbfbom kept\n",
        b"bad \xff\xfe utf-8 \xe2\x82 cut",
        "caf\u00e9 \u2028 \U0001f600\n".encode(),
        b"",
        b"x" * (3 << 20) + b"\r\n" + b"\r" * 3,  # across several reads
    ],
)
def test_the_text_is_the_text_mode_text(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "spec.md"
    path.write_bytes(data)
    assert read_text(path) == _text_mode(path)
    assert read_text(str(path)) == _text_mode(path)


@pytest.mark.parametrize("make", ["missing", "folder", "below-a-file"])
def test_errors_are_the_text_mode_errors(tmp_path: Path, make: str) -> None:
    path = tmp_path / "spec.md"
    if make == "folder":
        path.mkdir()
    elif make == "below-a-file":
        path.write_text("a file")
        path = path / "spec.md"
    with pytest.raises(OSError) as expected:
        _text_mode(path)
    with pytest.raises(OSError) as got:
        read_text(path)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)
