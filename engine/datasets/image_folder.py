"""Images in one sub-folder per class (``keras.utils.image_dataset_from_directory``'s layout).

Every file is checked before anything is returned, so a corrupt, empty or non-image file is
named here rather than failing mid-epoch. Images are decoded with ``keras.utils.load_img`` (the
same code path is used for "predict on a new image"); a set that fits in memory is decoded once
into a uint8 array, a larger one is decoded per batch.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from engine.datasets.base import Sample, Store
from engine.datasets.build import MATERIALISE_LIMIT_BYTES, assemble, image_store
from engine.datasets.folders import find_layout, list_files, part_indices
from engine.errors import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
_SAMPLE_COUNT = 8


_IN_MEMORY_FILE = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>|<_io\.\w+ name=[^>]*>")
_PIXELS = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


def _unreadable(path: Path, reason: str) -> DatasetError:
    reason = _IN_MEMORY_FILE.sub(repr(path.name), reason)
    return DatasetError(
        f"The file {path} is not a readable image ({reason}).",
        field="path",
        fix="Replace or remove that file.",
    )


def _image_error(path: Path, error: BaseException) -> DatasetError:
    """A DatasetError naming ``path`` for anything PIL (or Keras's loader) raised on it."""
    if isinstance(error, Image.DecompressionBombError):
        found = _PIXELS.search(str(error))
        size = (
            f" ({int(found.group(1)) / 1e6:,.0f} megapixels; at most "
            f"{int(found.group(2)) / 1e6:,.0f} are decoded)"
            if found
            else ""
        )
        return DatasetError(
            f"The image {path} is too large to decode safely{size}.",
            field="path",
            fix="Resize it (a few thousand pixels on the longer side is plenty) or remove it "
            "from the folder.",
        )
    if isinstance(error, MemoryError):
        return DatasetError(
            f"The image {path} does not fit in memory once decoded.",
            field="path",
            fix="Resize it or remove it from the folder, or use a smaller image_size.",
        )
    return _unreadable(path, str(error) or type(error).__name__)


def read_image(path, size, color_mode: str) -> np.ndarray:
    """One image file as a uint8 (height, width, channels) array, resized to ``size``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"The image {path} does not exist.")
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty, 0 bytes")
    try:
        image = keras.utils.load_img(
            path, color_mode=color_mode, target_size=tuple(size), interpolation="bilinear"
        )
        return keras.utils.img_to_array(image, dtype="uint8")
    except DatasetError:
        raise
    except Exception as error:  # PIL raises many kinds (bomb, truncated, struct, zlib...)
        raise _image_error(path, error) from error


def verify_image(path: Path) -> None:
    """Check that ``path`` is a complete image without decoding it fully."""
    if path.stat().st_size == 0:
        raise _unreadable(path, "the file is empty, 0 bytes")
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as error:
        raise _image_error(path, error) from error


class ImageFileStore(Store):
    """Image files decoded per batch (for sets too large to hold decoded)."""

    def __init__(self, paths: list[Path], size, color_mode: str, rescale: bool):
        self.paths = paths
        self.size = size
        self.color_mode = color_mode
        self.scale = np.float32(1 / 255.0 if rescale else 1.0)

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, indices: np.ndarray) -> np.ndarray:
        images = [read_image(self.paths[i], self.size, self.color_mode) for i in indices]
        return np.stack(images).astype("float32") * self.scale


def load(block: dict, loss, validation_split: float, progress):
    layout = find_layout(block["path"], "images")
    files = {
        part: list_files(folder, layout.class_names, IMAGE_SUFFIXES, "image")
        for part, folder in layout.roots.items()
    }
    size = block["image_size"]
    color_mode = block["color_mode"]
    channels = 1 if color_mode == "grayscale" else 3
    rescale = block["rescale"]
    total = sum(len(paths) for paths, _ in files.values())
    in_memory = total * size[0] * size[1] * channels * 4 <= MATERIALISE_LIMIT_BYTES
    decoded: dict[str, np.ndarray] = {}
    done = 0
    for part, (paths, _) in files.items():
        arrays = []
        for path in paths:
            if in_memory:
                arrays.append(read_image(path, size, color_mode))
            else:
                verify_image(path)
            done += 1
            if progress is not None and (done % 50 == 0 or done == total):
                progress(f"Reading images {done:,}/{total:,}", done / total)
        if in_memory:
            decoded[part] = np.stack(arrays)
    indices = part_indices(
        layout,
        {part: len(paths) for part, (paths, _) in files.items()},
        block["test_split"],
        validation_split,
        block["seed"],
    )
    parts = {}
    for part, (source_part, rows) in indices.items():
        paths, labels = files[source_part]
        if in_memory:
            store = image_store(decoded[source_part][rows], rescale)
        else:
            store = ImageFileStore([paths[i] for i in rows], size, color_mode, rescale)
        parts[part] = (store, labels[rows])
    image_shape = (size[0], size[1], channels)
    scale = 255.0 if rescale else 1.0

    def describe(x_row) -> Sample:
        pixels = np.asarray(x_row, dtype="float64").reshape(image_shape) * scale
        return Sample("image", np.clip(np.round(pixels), 0, 255).astype("uint8"), "")

    def encode(raw) -> np.ndarray:
        if isinstance(raw, (str, os.PathLike)):
            raw = read_image(raw, size, color_mode)
        pixels = np.asarray(raw, dtype="float32")
        if pixels.shape != image_shape:
            raise DatasetError(f"The image has shape {pixels.shape}; expected {image_shape}.")
        return (pixels / scale)[None, ...]

    train_paths, train_labels = files[indices["train"][0]]
    samples = []
    for i in indices["train"][1][:_SAMPLE_COUNT]:
        pixels = (
            decoded[indices["train"][0]][i]
            if in_memory
            else read_image(train_paths[i], size, color_mode)
        )
        samples.append(Sample("image", pixels, layout.class_names[int(train_labels[i])]))
    notes = []
    if layout.ignored:
        notes.append(f"Left out (no matching test folder): {', '.join(layout.ignored)}.")
    if not in_memory:
        notes.append("Too large to hold decoded: images are read from disk for every batch.")
    return assemble(
        block,
        title=f"Images in {Path(block['path']).name}",
        task="binary" if len(layout.class_names) == 2 else "multiclass",
        parts=parts,
        loss=loss,
        input_shape=image_shape,
        dtype="float32",
        input_note=f"{size[0]}×{size[1]} {color_mode} images"
        + (" scaled to [0, 1]" if rescale else " (0–255)"),
        class_names=layout.class_names,
        samples=samples,
        describer=describe,
        encoder=encode,
        notes=tuple(notes),
    )
