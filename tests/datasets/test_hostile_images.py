"""Image files that are bombs or not images: the message names the file (issues 9 and 10)."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from engine.datasets import DatasetError, load_dataset
from engine.datasets import build as build_module
from engine.datasets.image_folder import read_image, verify_image


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (PIL checks the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    for cls, colour in (("cats", (200, 0, 0)), ("dogs", (0, 0, 200))):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (10, 10), colour).save(root / cls / f"{cls}{i}.png")
    return root


def _block(root):
    return {"source": "image_folder", "path": str(root), "image_size": [8, 8]}


def test_a_900_megapixel_png_is_named_not_a_raw_bomb_error(folder):
    bomb = folder / "cats" / "huge.png"
    bomb.write_bytes(_png_claiming(30_000, 30_000))
    assert bomb.stat().st_size < 200
    with pytest.raises(DatasetError) as caught:
        load_dataset(_block(folder))
    text = str(caught.value)
    assert str(bomb) in text and "900 megapixels" in text
    assert "DecompressionBomb" not in text and text.startswith("The image ")
    with pytest.raises(DatasetError, match=r"huge\.png is too large to decode"):
        read_image(bomb, (8, 8), "rgb")


def test_a_bomb_is_named_when_images_are_read_per_batch(folder, monkeypatch):
    monkeypatch.setattr(build_module, "MATERIALISE_LIMIT_BYTES", 10)
    monkeypatch.setattr("engine.datasets.image_folder.MATERIALISE_LIMIT_BYTES", 10)
    bomb = folder / "dogs" / "huge.png"
    bomb.write_bytes(_png_claiming(40_000, 25_000))
    with pytest.raises(DatasetError, match=r"huge\.png is too large to decode"):
        load_dataset(_block(folder))
    with pytest.raises(DatasetError, match=r"huge\.png"):
        verify_image(bomb)


def test_a_non_image_names_the_file_not_an_in_memory_buffer(folder):
    fake = folder / "dogs" / "fake.png"
    fake.write_bytes(b"this is not an image at all")
    with pytest.raises(DatasetError) as caught:
        read_image(fake, (8, 8), "rgb")
    text = str(caught.value)
    assert "BytesIO" not in text and "0x" not in text
    assert str(fake) in text and "'fake.png'" in text
