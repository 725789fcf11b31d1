"""Fashion-MNIST: the product pictures of the synthetic shop.

Introduced in Chapter 2. :func:`load_fashion_mnist` returns Zalando's 70,000
grey-scale 28x28 pictures of clothing in 10 classes (MIT licence), loaded
through the source chain of :mod:`recsys_lib.data.sources`: the cache, the
official release files, then the Debian package ``dataset-fashion-mnist``.
ShopSim (:mod:`recsys_lib.data.shopsim`) takes its product images from here.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import check_choice
from ..config import data_dir
from . import sources
from .sources import DatasetError, fetch_hint, part_path
from .tables import shape_text

__all__ = [
    "FASHION_MNIST",
    "FASHION_MNIST_CLASSES",
    "FashionMNIST",
    "load_fashion_mnist",
]

# ------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST = "fashion-mnist"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_DEBIAN_DIR = "usr/share/datasets/fashion-mnist/"
# sha256 of each file: "official" are the values that other loaders record for
# the Zalando release files (Zalando's README publishes only their md5; the files
# cannot be downloaded on the machines that build this book); "debian" are the
# files of the Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1,
# which re-compressed the same data (so the .gz bytes differ). "payload" is the
# sha256 of the decompressed file: a copy compressed some other way is accepted
# when its content matches.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": {
        "official": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "debian": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "payload": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    "train-labels-idx1-ubyte.gz": {
        "official": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
        "debian": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "payload": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    "t10k-images-idx3-ubyte.gz": {
        "official": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
        "debian": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "payload": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    "t10k-labels-idx1-ubyte.gz": {
        "official": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
        "debian": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        "payload": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
_FASHION_MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: Label ``k`` of Fashion-MNIST is ``FASHION_MNIST_CLASSES[k]``.
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_SPLITS = ("all", "train", "test")
FASHION_MNIST_SOURCES = ("auto", "cache", "official", "debian")


# ============================================================= Fashion-MNIST
@dataclass(frozen=True, eq=False, repr=False)
class FashionMNIST:
    """Fashion-MNIST: 28x28 grey-scale pictures of clothing in 10 classes.

    Introduced in Chapter 2 (the product pictures of the synthetic shop).

    Attributes:
        images: ``(N, 28, 28)`` uint8: 0 is the background, up to 255 on the garment.
        labels: ``(N,)`` int64 in ``0..9``; ``class_names[labels[i]]`` names it.
        class_names: the 10 class names, :data:`FASHION_MNIST_CLASSES`.
        split: ``"train"`` (N = 60,000), ``"test"`` (10,000) or ``"all"``
            (70,000: the training images first, then the test images).
        source: where the files came from, e.g. ``"debian"`` or ``"official"``.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    split: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"FashionMNIST(split={self.split!r}, source={self.source!r}, "
            f"images={shape_text(self.images)}, labels={shape_text(self.labels)})"
        )


def _fashion_mnist_expected(name: str) -> sources.Expected:
    known = FASHION_MNIST_FILES[name]

    def same_content(path: Path) -> str | None:
        try:
            with gzip.open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except (OSError, EOFError, zlib.error):
            return None
        return "recompressed" if digest == known["payload"] else None

    shas = {sha: label for label, sha in known.items() if label != "payload"}
    return sources.Expected(shas, content=same_content)


def _read_idx(path: Path, magic: int, offset: int) -> np.ndarray:
    """Read a gzip-compressed IDX file (the MNIST format) into a uint8 array.

    The header is ``offset`` bytes of big-endian int32: the magic number
    (2051 for images, 2049 for labels) and the size of each dimension.
    """
    raw = path.read_bytes()
    try:
        inflate = zlib.decompressobj(
            wbits=16 + zlib.MAX_WBITS
        )  # gzip, faster than gzip.open
        data = inflate.decompress(raw)
        if inflate.unused_data:  # more than one gzip member
            data = gzip.decompress(raw)
    except (zlib.error, EOFError, OSError) as exc:
        raise DatasetError(f"{path} is not a valid gzip file: {exc}") from exc
    header = np.frombuffer(data, dtype=">i4", count=offset // 4)
    if header[0] != magic:
        raise DatasetError(
            f"{path} is not an IDX file (magic {header[0]}, expected {magic})"
        )
    values = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if values.size != int(np.prod(header[1:])):
        raise DatasetError(
            f"{path} is truncated: {values.size} values, header {header[1:]}"
        )
    return values.reshape(header[1:])


def _idx_sha256(array: np.ndarray, magic: int) -> str:
    """sha256 of the IDX file (header + values) that ``array`` was read from."""
    h = hashlib.sha256(np.array([magic, *array.shape], dtype=">i4").tobytes())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def _fashion_mnist_array(folder: Path, name: str) -> np.ndarray:
    """One verified ``.gz`` file as an array, through an uncompressed ``.npy`` copy.

    Decompressing the training images takes about half a second, so the
    decompressed array is kept as ``<name>.npy``; it is used only while its
    content still hashes to the published sha256 of the decompressed file.
    """
    magic, offset = (2051, 16) if "images" in name else (2049, 8)
    payload = FASHION_MNIST_FILES[name]["payload"]
    npy = folder / name.replace(".gz", ".npy")
    if npy.is_file():
        try:
            array = np.load(npy, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            array = None
        if (
            array is not None
            and array.dtype == np.uint8
            and _idx_sha256(array, magic) == payload
        ):
            return array
        npy.unlink()
    array = _read_idx(folder / name, magic, offset)
    if _idx_sha256(array, magic) != payload:
        warnings.warn(
            f"{FASHION_MNIST}: {name} passed its sha256 check but its content differs from "
            "the reference copy; using it without the fast .npy cache. Please report this.",
            stacklevel=3,
        )
        return array
    part = part_path(npy)
    with open(part, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(part, npy)
    return array


def _fashion_mnist_files(names: Sequence[str], source: str) -> list[str]:
    """Make sure the named files are in the cache; return their source labels."""
    folder = data_dir() / FASHION_MNIST
    labels = {n: sources.cached(folder / n, _fashion_mnist_expected(n)) for n in names}
    missing = [n for n, label in labels.items() if label is None]
    if not missing:
        return list(labels.values())
    if source == "cache":
        raise DatasetError(
            f"{FASHION_MNIST}: {', '.join(missing)} not in the cache ({folder}). "
            + fetch_hint(FASHION_MNIST)
        )

    def official() -> None:
        for n in missing:
            sources.download(
                FASHION_MNIST_URL + n, folder / n, _fashion_mnist_expected(n)
            )

    def debian() -> None:
        members = [FASHION_MNIST_DEBIAN_DIR + n for n in FASHION_MNIST_FILES]

        def install(paths: dict[str, Path]) -> None:
            for member, path in paths.items():
                name = Path(member).name
                sources.install_file(path, folder / name, _fashion_mnist_expected(name))

        return sources.from_debian(FASHION_MNIST_DEBIAN_PACKAGE, members, install)

    steps = {"official": official, "debian": debian}
    wanted = ("official", "debian") if source == "auto" else (source,)
    fetched_from, _ = sources.run_chain(FASHION_MNIST, [(s, steps[s]) for s in wanted])
    return [labels[n] or fetched_from for n in names]


def load_fashion_mnist(split: str = "all", source: str = "auto") -> FashionMNIST:
    """Load Fashion-MNIST (Zalando's 70,000 product pictures, MIT licence).

    Introduced in Chapter 2. Sources, in order: the cache
    (``data_dir()/fashion-mnist``, sha256 of each ``.gz`` file), the official
    release files (5 s timeout), then the Debian package
    ``dataset-fashion-mnist`` (``apt-get download`` + ``dpkg-deb -x``; nothing is
    installed; as root, ``apt-get update`` runs once if the package lists are
    missing). Loading from the cache takes well under a second.

    Args:
        split: ``"train"`` (60,000), ``"test"`` (10,000) or ``"all"`` (70,000,
            training images first).
        source: which step may fetch what the cache lacks: ``"auto"``,
            ``"official"``, ``"debian"``, or ``"cache"`` (never download).

    Returns:
        A :class:`FashionMNIST`: ``images`` ``(N, 28, 28)`` uint8, ``labels``
        ``(N,)`` int64, ``class_names`` (10 names).

    Raises:
        ValueError: for an unknown ``split`` or ``source``.
        DatasetError: if no source works; the message names the command to run.
    """
    check_choice(split, "split", FASHION_MNIST_SPLITS, where="load_fashion_mnist")
    check_choice(source, "source", FASHION_MNIST_SOURCES, where="load_fashion_mnist")
    parts = ("train", "test") if split == "all" else (split,)
    names = [n for p in parts for n in _FASHION_MNIST_SPLITS[p]]
    origins = _fashion_mnist_files(names, source)
    folder = data_dir() / FASHION_MNIST
    images, labels = [], []
    for part in parts:
        image_file, label_file = _FASHION_MNIST_SPLITS[part]
        x = _fashion_mnist_array(folder, image_file)
        y = _fashion_mnist_array(folder, label_file)
        if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
            raise DatasetError(
                f"{FASHION_MNIST} {part}: images {x.shape} vs labels {y.shape}"
            )
        images.append(x)
        labels.append(y.astype(np.int64))
    return FashionMNIST(
        images=np.concatenate(images) if len(images) > 1 else images[0].copy(),
        labels=np.concatenate(labels),
        class_names=FASHION_MNIST_CLASSES,
        split=split,
        source="+".join(sorted(set(origins))),
    )
