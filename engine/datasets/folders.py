"""Class-per-sub-folder layouts shared by the image and text folder sources.

A root folder holds either one sub-folder per class, or ``train/`` (and optionally
``validation/`` or ``val/``, and ``test/``) folders laid out that way, like aclImdb or the
cats-vs-dogs tutorial. With a ``test/`` folder, the classes are the sub-folders present in both
``train/`` and ``test/`` (aclImdb's ``train/unsup`` is left out and mentioned).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.datasets.base import split_rows, tail_rows
from engine.errors import DatasetError

_IGNORED_FILES = {"thumbs.db", "desktop.ini"}


@dataclass
class FolderLayout:
    """Class names and, per part, the folder holding that part's class sub-folders."""

    class_names: list[str]
    roots: dict[str, Path]
    ignored: list[str]


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_layout(path: str, what: str) -> FolderLayout:
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"The folder {root} does not exist.", field="path")
    if not root.is_dir():
        raise DatasetError(
            f"The path {root} is a file, not a folder.",
            field="path",
            fix=f"Choose the folder that holds one sub-folder of {what} per class.",
        )
    roots: dict[str, Path] = {}
    ignored: list[str] = []
    train = root / "train"
    if train.is_dir() and _class_dirs(train):
        roots["train"] = train
        for name in ("validation", "val"):
            if (root / name).is_dir():
                roots["validation"] = root / name
                break
        if (root / "test").is_dir():
            roots["test"] = root / "test"
        classes = _class_dirs(train)
        if "test" in roots:
            test_classes = set(_class_dirs(roots["test"]))
            ignored = [c for c in classes if c not in test_classes]
            classes = [c for c in classes if c in test_classes]
    else:
        roots["train"] = root
        classes = _class_dirs(root)
    if not classes:
        raise DatasetError(
            f"The folder {root} has no class sub-folders.",
            field="path",
            fix=(
                f"Put the {what} in one sub-folder per class, e.g. {root / 'cats'} and "
                f"{root / 'dogs'} (or train/ and test/ folders laid out that way)."
            ),
        )
    if len(classes) == 1:
        raise DatasetError(
            f"The folder {roots['train']} has a single class sub-folder ({classes[0]}): "
            "there is nothing to tell apart.",
            field="path",
            fix="Add a sub-folder for each other class.",
        )
    return FolderLayout(classes, roots, ignored)


def list_files(
    folder: Path, class_names: list[str], suffixes: tuple[str, ...], what: str
) -> tuple[list[Path], np.ndarray]:
    """Every file under each class sub-folder (sorted) and its class index.

    A file whose suffix is not one of ``suffixes`` is refused by name (hidden files and OS
    clutter such as Thumbs.db are skipped), so nothing is silently left out.
    """
    paths: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(class_names):
        class_dir = folder / name
        if not class_dir.is_dir():
            raise DatasetError(
                f"The folder {folder} has no sub-folder {name!r}, but the training folder does.",
                field="path",
                fix="Give every part the same class sub-folders.",
            )
        for file in sorted(class_dir.rglob("*")):
            if (
                not file.is_file()
                or file.name.startswith(".")
                or file.name.lower() in _IGNORED_FILES
            ):
                continue
            if file.suffix.lower() not in suffixes:
                raise DatasetError(
                    f"The file {file} is not one of the {what} files this folder should hold "
                    f"({', '.join(suffixes)}).",
                    field="path",
                    fix="Move it out of the class folders.",
                )
            paths.append(file)
            labels.append(index)
    if not paths:
        raise DatasetError(
            f"The class folders in {folder} hold no {what} files ({', '.join(suffixes)}).",
            field="path",
        )
    return paths, np.asarray(labels, dtype="int64")


def part_indices(
    layout: FolderLayout,
    counts: dict[str, int],
    test_split: float,
    validation_split: float,
    seed,
) -> dict[str, tuple[str, np.ndarray]]:
    """For each part: (the folder part it is read from, shuffled row indices into it)."""
    rng = np.random.default_rng(seed)
    train_order = rng.permutation(counts["train"])
    result: dict[str, tuple[str, np.ndarray]] = {}
    if "test" in layout.roots:
        result["test"] = ("test", np.arange(counts["test"]))
    elif test_split > 0:
        keep, test = split_rows(len(train_order), test_split, seed)
        result["test"] = ("train", train_order[test])
        train_order = train_order[keep]
    if "validation" in layout.roots:
        result["validation"] = ("validation", np.arange(counts["validation"]))
        result["train"] = ("train", train_order)
    else:
        keep, val = tail_rows(len(train_order), validation_split)
        result["train"] = ("train", train_order[keep])
        result["validation"] = ("train", train_order[val])
    return result
