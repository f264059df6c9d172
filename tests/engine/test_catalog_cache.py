"""The layer catalog cached on disk (engine.catalog_cache): what it reads back equals what
Keras gives; corrupt, stale or foreign files are ignored; reading never imports Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import catalog, catalog_cache
from engine.catalog_cache import CachedCatalog, cache_key, cache_path, read_cache, write_cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live() -> CachedCatalog:
    from app.loader import training_choices

    return CachedCatalog(
        layers=catalog.catalog(),
        categories=catalog.categories(),
        training=training_choices(),
        libraries=["/nowhere/lib_example.so"],
    )


def test_round_trip_equals_the_live_catalog(tmp_path, live):
    path = tmp_path / "catalog.json"
    assert write_cache(live, path)
    back = read_cache(path)
    assert back is not None
    assert list(back.layers) == list(live.layers)  # display order kept
    for name, info in live.layers.items():
        assert back.layers[name] == info, name
    assert back == live


def test_round_trip_keeps_tuple_choices_hashable(tmp_path, live):
    path = tmp_path / "catalog.json"
    write_cache(live, path)
    back = read_cache(path)
    for info in back.layers.values():
        hash(info.key_params)
        for param in info.params:
            assert param.choices is None or isinstance(param.choices, tuple)


def test_cache_path_names_the_keras_version(tmp_path):
    from importlib.metadata import version

    assert cache_path(tmp_path) == tmp_path / f"catalog-{version('keras')}.json"


def test_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_CACHE_DIR", str(tmp_path / "here"))
    assert cache_path().parent == tmp_path / "here"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        "null",
        '{"key": 1}',
        "\x00\x01binary",
    ],
)
def test_a_corrupt_file_is_ignored(tmp_path, text):
    path = tmp_path / "catalog.json"
    path.write_text(text, encoding="utf-8")
    assert read_cache(path) is None


def test_a_truncated_file_is_ignored(tmp_path, live):
    path = tmp_path / "catalog.json"
    write_cache(live, path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    assert read_cache(path) is None


def test_a_layer_entry_missing_a_field_is_ignored(tmp_path, live):
    path = tmp_path / "catalog.json"
    write_cache(live, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["layers"][0]["params"][0]["kind"]
    path.write_text(json.dumps(document), encoding="utf-8")
    assert read_cache(path) is None


def test_undecodable_bytes_are_ignored(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_bytes(b"\xff\xfe\xfa")
    assert read_cache(path) is None


def test_a_missing_file_is_none(tmp_path):
    assert read_cache(tmp_path / "absent.json") is None


@pytest.mark.parametrize("field", ["keras", "tensorflow", "sources", "format", "python"])
def test_a_version_mismatch_is_ignored(tmp_path, live, field):
    path = tmp_path / "catalog.json"
    key = dict(cache_key())
    key[field] = "0.0.0-other"
    path.write_text(catalog_cache.encode(live, key), encoding="utf-8")
    assert read_cache(path) is None
    path.write_text(catalog_cache.encode(live), encoding="utf-8")
    assert read_cache(path) is not None


def test_a_changed_override_file_makes_the_cache_stale(tmp_path, live, monkeypatch):
    path = tmp_path / "catalog.json"
    write_cache(live, path)
    original = cache_key()
    monkeypatch.setattr(catalog_cache, "SOURCES", ("overrides.py",))
    assert cache_key()["sources"] != original["sources"]
    assert read_cache(path) is None


def test_a_failing_write_returns_false_and_leaves_no_file(tmp_path, live):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert write_cache(live, blocker / "sub" / "catalog.json") is False
    assert not (blocker / "sub").exists()


def test_a_rewrite_replaces_a_corrupt_file(tmp_path, live):
    path = tmp_path / "catalog.json"
    path.write_text("{garbage", encoding="utf-8")
    assert read_cache(path) is None
    assert write_cache(live, path)
    assert read_cache(path) == live
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]  # no temporary left


def test_reading_the_cache_does_not_import_keras(tmp_path, live):
    path = tmp_path / "catalog.json"
    write_cache(live, path)
    code = (
        "import sys; from engine.catalog_cache import read_cache; "
        f"c = read_cache({str(path)!r}); "
        "assert c is not None and 'Dense' in c.layers; "
        "heavy = sorted(m for m in ('keras', 'tensorflow') if m in sys.modules); "
        "print(','.join(heavy) or 'none')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
