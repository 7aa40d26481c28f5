"""``specflow.digests``: the built-in hashers below ``BULK`` bytes, hashlib's from there (and for
everything once hashlib is imported); the same digests either way, and no OpenSSL loaded for small
inputs.  This test process imports hashlib, so the built-in ones are checked in a fresh interpreter."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from specflow import digests

SIZES = [0, 1, 63, 64, 65, 4096, digests.BULK - 1, digests.BULK, digests.BULK + 7]


def _data(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(size % 256)


def test_digests_equal_hashlibs_on_both_sides_of_the_bulk_threshold() -> None:
    code = (
        "import sys\nfrom specflow import digests\n"
        "data = lambda n: bytes(range(256)) * (n // 256) + bytes(n % 256)\n"
        f"for n in {SIZES!r}:\n"
        "    one, two = digests.sha1(data(n)).hexdigest(), digests.sha256(data(n)).hexdigest()\n"
        "    print(n, 'hashlib' in sys.modules, one, two)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    rows = [line.split() for line in out.stdout.splitlines()]
    assert [int(r[0]) for r in rows] == SIZES
    for size, openssl, sha1, sha256 in rows:
        data = _data(int(size))
        assert sha1 == hashlib.sha1(data).hexdigest() and sha256 == hashlib.sha256(data).hexdigest()
        assert openssl == str(int(size) >= digests.BULK)  # hashlib comes in with the first bulk input


@pytest.mark.parametrize("size", SIZES)
def test_once_hashlib_is_imported_it_hashes_alike(size: int) -> None:
    data = _data(size)
    assert digests.sha1(data).hexdigest() == hashlib.sha1(data).hexdigest()
    assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    assert digests.bulk_sha1(data).digest() == hashlib.sha1(data).digest()


def test_hashers_take_more_data_as_hashlibs_do() -> None:
    for ours, theirs in ((digests.sha256(), hashlib.sha256()), (digests.sha1(b"a"), hashlib.sha1(b"a"))):
        for chunk in (b"tree 3\0", b"abc", b"\0" * 1000):
            ours.update(chunk)
            theirs.update(chunk)
        assert ours.hexdigest() == theirs.hexdigest()


def test_git_object_names_come_out_as_git_names_them() -> None:
    # git hash-object of an empty blob and of "hello\n"
    assert digests.sha1(b"blob 0\0").hexdigest() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert digests.sha1(b"blob 6\0hello\n").hexdigest() == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_small_inputs_leave_openssl_unloaded() -> None:
    code = (
        "import sys\nfrom specflow import digests\n"
        "digests.sha1(b'x' * 1000).hexdigest(); digests.sha256(b'y').hexdigest()\n"
        "print('_hashlib' in sys.modules, 'hashlib' in sys.modules)\n"
        f"digests.sha1(bytes({digests.BULK}))\n"
        "print('hashlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "True"]
