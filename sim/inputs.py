"""The one gate for files a user names: result and sweep files, case and sweep files, measured CSV
files, matplotlib style files and lock files are checked to be regular files of bounded size before
a byte is read, and are read with a bounded buffer.

A FIFO blocks a reader for ever, /dev/zero fills the memory, a directory or a device is never what
was meant, and a 20 GB file named as a result must not be loaded whole: each is one clean error
naming the file (the caller's `fail(reason)` builds it: a CaseError naming the key that pointed at
the file, a ResultFileError, ...).  The file is opened without blocking (O_NONBLOCK: opening a FIFO
for reading waits for a writer) and checked again through its descriptor, so what is read is what
was checked.
"""
from __future__ import annotations

import os
import stat

#: the largest file of each kind that sim reads, in bytes (module constants: tests lower them).
#: A result or sweep file is loaded whole to check its digests, so its limit bounds the memory.
LIMITS = {"result": 2 << 30, "case": 1 << 20, "csv": 64 << 20, "style": 1 << 20, "lock": 4096}


def _kind(mode):
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "something else"


def _check(st, limit, fail):
    if not stat.S_ISREG(st.st_mode):
        raise fail(f"not a regular file but {_kind(st.st_mode)}")
    if st.st_size > limit:
        raise fail(f"{st.st_size} bytes, larger than the {limit}-byte limit for this kind of file")


def check_file(path, what, fail=None):
    """os.stat of `path` after checking it is a regular file within LIMITS[what]; raises
    fail(reason) otherwise (default: sim.errors.InputFileError naming the file)."""
    fail = fail or _default_fail(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror or e})") from None
    except ValueError:                          # a NUL byte in the name
        raise fail("the name holds a NUL character") from None
    _check(st, LIMITS[what], fail)
    return st


def read_bytes(path, what, fail=None):
    """The bytes of `path`, a regular file of at most LIMITS[what] bytes (see the module docstring).
    Raises fail(reason) for anything else: missing, unreadable, a directory, FIFO or device, too
    large, or grown past the limit while being read."""
    fail = fail or _default_fail(path)
    limit = LIMITS[what]
    check_file(path, what, fail)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "rb", buffering=0) as fh:
            st = os.fstat(fh.fileno())
            _check(st, limit, fail)                  # the file opened is the one checked
            data = fh.read(st.st_size + 1)           # one buffer of the file's size (+1: did it grow?)
            if len(data) > st.st_size:
                extra = fh.read(limit + 1 - len(data)) if len(data) <= limit else b""
                if len(data) + len(extra) > limit:
                    raise fail(f"grew past the {limit}-byte limit for this kind of file while being read")
                data += extra
    except OSError as e:
        if _is_sim_error(e):                         # a fail(...) raised above
            raise
        raise fail(f"cannot be read ({e.strerror or e})") from None
    except MemoryError:
        raise fail("too large to load into memory") from None
    return data


def head(path, n):
    """The first n bytes of `path` if it is a regular file (b"" for anything else: nothing blocks)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        return os.read(fd, n) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(fd)


def read_text(path, what, fail=None):
    """read_bytes decoded as UTF-8; undecodable bytes are fail('not UTF-8 text (byte N)')."""
    fail = fail or _default_fail(path)
    raw = read_bytes(path, what, fail)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"not UTF-8 text (byte {e.start})") from None


def _is_sim_error(e):
    from sim.errors import SimError
    return isinstance(e, SimError)


def _default_fail(path):
    from sim.errors import InputFileError
    return lambda reason: InputFileError(f"{path}: {reason}")
