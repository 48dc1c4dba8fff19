"""Pinned assets: mirror lookup, checksum refusal, offline failure, a real download over HTTP, cache reuse."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nodesynth_common import assets
from nodesynth_common.assets import ASSETS, MIRROR_ENV, Asset, AssetError, asset_path
from nodesynth_common.errors import NodeSynthError

PAYLOAD = b"id,prompt\n1,hello\n" * 5000


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user cache and no mirror, unless a test sets one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.delenv(assets.BASE_URL_ENV, raising=False)
    return tmp_path / "xdg"


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Asset:
    """A registry entry whose upstream bytes are PAYLOAD, with a space in its path."""
    asset = Asset(
        name="toy", file_name="toy.csv", repo="owner/repo", commit="a" * 40, path="data/toy file.csv",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(), licence="CC0", citation="a test",
    )
    monkeypatch.setitem(ASSETS, "toy", asset)
    return asset


@contextmanager
def serve(body: bytes) -> Iterator[tuple[str, list[str]]]:
    """An http.server on 127.0.0.1 answering every GET with `body`; yields (base URL, paths requested)."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


def test_registry_pins_every_file_at_a_commit() -> None:
    assert set(ASSETS) == {"nodesynth_medical", "nodesynth_culture", "nodesynth_medical_results", "xstest",
                           "simplesafetytests", "ailuminate"}
    workbook = ASSETS["nodesynth_medical_results"]
    assert workbook.url() == (
        "https://raw.githubusercontent.com/google-research/nodesynth/55db1d4e43e18be40f4516bd5c13c0b4cf8c1161/"
        "paper/Nodesynth%20Medical%20L2%2BL3.xlsx"
    )
    assert all(asset.licence and asset.citation for asset in ASSETS.values())


def test_every_asset_is_found_and_verified_in_the_reference_mirror(reference_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(reference_dir))
    for name in ASSETS:
        path = asset_path(name, base_url="http://127.0.0.1:9")  # the network is never asked
        assert path.is_relative_to(reference_dir)
    # the AILuminate mirror copy (no cse rows) is accepted by its own checksum
    assert asset_path("ailuminate").name.endswith("_no_cse.csv")


def test_mirror_file_found_by_name_at_any_depth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy: Asset) -> None:
    deep = tmp_path / "mirror" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "toy file.csv").write_bytes(PAYLOAD)  # the upstream name works as well as file_name
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "mirror"))
    assert asset_path("toy", base_url="http://127.0.0.1:9") == deep / "toy file.csv"


def test_checksum_mismatch_in_the_mirror_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy: Asset) -> None:
    (tmp_path / "toy.csv").write_bytes(PAYLOAD + b"tampered\n")
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(AssetError, match=r"asset 'toy' .* has sha256 [0-9a-f]{64}, not the pinned") as caught:
        asset_path("toy")
    assert isinstance(caught.value, NodeSynthError)


def test_downloaded_file_with_the_wrong_checksum_is_discarded(toy: Asset) -> None:
    with serve(b"something else") as (base, _):
        with pytest.raises(AssetError, match="it was discarded"):
            asset_path("toy", base_url=base, progress=False)
    assert not (assets.cache_dir() / "toy.csv").exists()
    assert list(assets.cache_dir().iterdir()) == []  # no partial file left behind


def test_offline_without_a_mirror_is_one_line_naming_asset_url_and_variable(toy: Asset) -> None:
    with serve(b"") as (base, _):
        pass  # the server is gone: nothing listens on that port any more
    with pytest.raises(AssetError) as caught:
        asset_path("toy", base_url=base, progress=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "'toy'" in message and f"{base}/owner/repo/{'a' * 40}/data/toy%20file.csv" in message and MIRROR_ENV in message


def test_missing_from_the_mirror_does_not_go_to_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy: Asset) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with serve(PAYLOAD) as (base, requested):
        with pytest.raises(AssetError, match=f"not under {MIRROR_ENV}="):
            asset_path("toy", base_url=base)
    assert requested == []


def test_download_from_a_local_server_then_reused_from_the_cache(toy: Asset, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(PAYLOAD) as (base, requested):
        monkeypatch.setenv(assets.BASE_URL_ENV, base)  # the variable works as well as the argument
        first = asset_path("toy", progress=False)
        second = asset_path("toy", progress=False)
    assert requested == [f"/owner/repo/{'a' * 40}/data/toy%20file.csv"]  # one request; the second use is the cache
    assert first == second == assets.cache_dir() / "toy.csv"
    assert first.read_bytes() == PAYLOAD
    first.write_bytes(b"corrupted")  # a cached copy is verified on every use
    with pytest.raises(AssetError, match="user cache"):
        asset_path("toy")


def test_unknown_asset_names_the_known_ones() -> None:
    with pytest.raises(AssetError, match="unknown asset 'nope' .*xstest"):
        asset_path("nope")
