"""Landlock through ``ctypes``: no root, no dependency, inherited by every descendant, never lifted.

Only the standard library is used, so the re-exec helper (``specflow.sandbox.exec``) can import
this module in an interpreter started without ``site``.  The ABI is read with the
``landlock_create_ruleset`` system call and its VERSION flag (``/sys/kernel/security`` is often not
mounted); the ruleset then handles every file-system right that ABI knows, so whatever no rule
grants is refused with ``EACCES``.

Landlock grants, it never denies: a folder inside a writable folder is writable too.  specflow
therefore grants only the gate's roots, split around any git folder inside them
(``specflow.sandbox.policy.landlock_grants``), and the audit judges what lies inside them.
"""

from __future__ import annotations

import ctypes
import os
import sys

TYPE_CHECKING = False  # the helper imports this module: typing and collections cost more than the rest
if TYPE_CHECKING:
    from collections.abc import Iterable

SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_SIGNAL = 1 << 1  # ABI 6

NETWORK_ABI = 4
#: Device files every program expects to write (the agent's pipes need no rule).
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx")
DEVICE_DIRS = ("/dev/pts",)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_ABI: list[int] = []


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI (0 where Landlock is absent, disabled or not Linux); read once."""
    if not _ABI:
        version = 0
        if sys.platform.startswith("linux"):
            libc = _libc()
            libc.syscall.restype = ctypes.c_long
            found = libc.syscall(
                ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)
            )
            version = max(int(found), 0)
        _ABI.append(version)
    return _ABI[0]


def fs_rights(abi: int) -> int:
    """Every file-system right the ABI knows: the ruleset handles them all."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def read_rights(abi: int) -> int:
    return (EXECUTE | READ_FILE | READ_DIR | (IOCTL_DEV if abi >= 5 else 0)) & fs_rights(abi)


def file_rights(abi: int) -> int:
    """The rights a rule on a single file (not a folder) may carry."""
    return (EXECUTE | WRITE_FILE | READ_FILE | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)) & (
        fs_rights(abi)
    )


def _fail(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"landlock: {what} failed: {os.strerror(err)}")


def _add_path(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            access &= file_rights(abi_version())
        attr = _PathBeneathAttr(access, fd)
        done = libc.syscall(
            ctypes.c_long(SYS_ADD_RULE),
            ctypes.c_int(ruleset),
            ctypes.c_int(RULE_PATH_BENEATH),
            ctypes.byref(attr),
            ctypes.c_uint32(0),
        )
        if done != 0:
            raise _fail(f"adding a rule for {path}")
    finally:
        os.close(fd)


def restrict_self(writable: Iterable[str], *, deny_tcp: bool = False) -> int:
    """Confine this process (and all it will start): read everything, write only ``writable``.

    ``deny_tcp`` refuses every TCP bind and connect (ABI 4 and later).  Returns the ABI used;
    raises ``OSError`` where Landlock cannot be applied.
    """
    abi = abi_version()
    if abi < 1:
        raise OSError(95, "landlock: not supported by this kernel")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= NETWORK_ABI:
        size = 16
        if deny_tcp:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = SCOPE_SIGNAL  # the agent cannot signal processes outside its sandbox
    ruleset = libc.syscall(
        ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise _fail("creating the ruleset")
    try:
        _add_path(libc, ruleset, "/", read_rights(abi))
        device = read_rights(abi) | WRITE_FILE | (TRUNCATE if abi >= 3 else 0)
        for path in (*DEVICE_FILES, *DEVICE_DIRS):
            _add_path(libc, ruleset, path, device)
        for path in writable:
            _add_path(libc, ruleset, path, handled)
        if libc.prctl(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), 0, 0, 0) != 0:
            raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise _fail("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi
