"""Pinned external assets: the public files the release tasks, baselines and report read.

Each asset is one file at a fixed commit of a public repository, with its sha256, licence and
citation. `asset_path(name)` returns a verified local copy, found in this order:

1. a mirror, `NODESYNTH_ASSETS_DIR=DIR`: the file is looked up by name anywhere under DIR (for
   air-gapped machines, tests and CI); with a mirror set the network is never used;
2. the user cache (platformdirs), where an earlier download was kept;
3. a download from the pinned URL, shown with a progress bar, hashed while it is written and
   moved into the cache only when its sha256 matches.

A checksum mismatch is an error and the file is never used. The base URL can be pointed
elsewhere (`NODESYNTH_ASSETS_URL`, or the `base_url` argument) for a local server in tests.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from .errors import NodeSynthError

MIRROR_ENV = "NODESYNTH_ASSETS_DIR"
BASE_URL_ENV = "NODESYNTH_ASSETS_URL"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
TIMEOUT_SECONDS = 30.0

NODESYNTH_CITATION = (
    "NodeSynth: Socially Aligned Synthetic Data for AI Evaluation (arXiv 2605.14381); "
    "google-research/nodesynth"
)


class AssetError(NodeSynthError):
    """An asset that cannot be found, fetched or verified; one sentence naming it and where it was looked for."""


class Asset(BaseModel):
    """One pinned public file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="short name for `nodesynth assets fetch NAME`")
    file_name: str = Field(description="the file's name in the cache and, usually, in a mirror")
    repo: str = Field(description="GitHub owner/name")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    path: str = Field(description="path inside the repository at `commit`")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the upstream file")
    licence: str
    citation: str
    description: str = ""
    mirror_names: tuple[str, ...] = Field((), description="other file names the asset may have in a mirror")
    mirror_sha256: tuple[str, ...] = Field(
        (), description="checksums of accepted mirror variants (e.g. a copy with rows removed)"
    )

    def url(self, base_url: str | None = None) -> str:
        """The raw file URL at the pinned commit (spaces and other reserved characters percent-encoded)."""
        base = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        return f"{base}/{self.repo}/{self.commit}/{quote(self.path)}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every file name the asset is looked up by in a mirror."""
        upstream = self.path.rsplit("/", 1)[-1]
        return tuple(dict.fromkeys((self.file_name, upstream, *self.mirror_names)))

    @property
    def accepted_sha256(self) -> frozenset[str]:
        return frozenset((self.sha256, *self.mirror_sha256))


_NODESYNTH_PIN = "55db1d4e43e18be40f4516bd5c13c0b4cf8c1161"

ASSETS: dict[str, Asset] = {
    asset.name: asset
    for asset in (
        Asset(
            name="nodesynth_medical",
            file_name="NodeSynth_Data_med_Full_Export.csv",
            repo="google-research/nodesynth",
            commit=_NODESYNTH_PIN,
            path="prototype/NodeSynth_Data_med_Full_Export.csv",
            sha256="df2f844dc53d4d4c137523220bc76c00149b9e1e823ad46480dccd401199f5ac",
            licence="Apache-2.0",
            citation=NODESYNTH_CITATION,
            description="the authors' released medical-advice queries (214 rows)",
        ),
        Asset(
            name="nodesynth_culture",
            file_name="NodeSynth_Data_Cultural_Full_Export.csv",
            repo="google-research/nodesynth",
            commit="4cc3582cdd706b30ebabad81dce805fb3ce61c2f",  # removed from later commits
            path="NodeSynth_Data_Cultural_Full_Export.csv",
            sha256="46d3a0166a4fe12043d2bf80ced42b261a5ef36733e6fcead7e02b2f1e82337c",
            licence="Apache-2.0",
            citation=NODESYNTH_CITATION,
            description="the authors' released culture queries (492 rows)",
        ),
        Asset(
            name="nodesynth_medical_results",
            file_name="Nodesynth_Medical_L2_L3.xlsx",
            repo="google-research/nodesynth",
            commit=_NODESYNTH_PIN,
            path="paper/Nodesynth Medical L2+L3.xlsx",
            sha256="78f7fd6649fd0b09511434344f3ec46d649c0826a9256a994418757ba18b045e",
            licence="Apache-2.0",
            citation=NODESYNTH_CITATION,
            description="636 medical queries (348 depth 2, 288 depth 3) with four models' responses and labels",
        ),
        Asset(
            name="xstest",
            file_name="xstest_prompts.csv",
            repo="paul-rottger/exaggerated-safety",
            commit="d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
            path="xstest_prompts.csv",
            sha256="11783fb294ed017473ee53c207d71f2161c7672c8d0b037501e78387f801cb5a",
            licence="CC-BY-4.0",
            citation="Röttger et al., XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours in LLMs, NAACL 2024",
            description="450 human-written prompts (250 safe, 200 unsafe contrasts)",
        ),
        Asset(
            name="simplesafetytests",
            file_name="simplesafetytests_test_cases.csv",
            repo="bertiev/SimpleSafetyTests",
            commit="d7aee9a9422a5a5488f478fd79c2479c891c0f3b",
            path="SimpleSafetyTests - test cases.csv",
            sha256="6d95a1301e0d0f3a3c4cf5392f4afff11ad6e3066f95d23aaa138d44aedf986c",
            licence="CC-BY-4.0",
            citation="Vidgen et al., SimpleSafetyTests: a Test Suite for Identifying Critical Safety Risks in LLMs, 2023",
            description="100 handcrafted prompts in five harm areas",
        ),
        Asset(
            name="ailuminate",
            file_name="airr_official_1.0_demo_en_us_prompt_set_release.csv",
            repo="mlcommons/ailuminate",
            commit="769cc2be9d20c8d4fb26ce53b68865ed41dfb8e2",
            path="airr_official_1.0_demo_en_us_prompt_set_release.csv",
            sha256="63e2b654325c5405096fabf28ef5f057b0ad674904b1839fd1f52b523e324d02",
            licence="CC-BY-4.0",
            citation="MLCommons AILuminate v1.0 public demo prompt set (en_US)",
            description="1,200 human-written prompts in 12 hazards (the cse hazard is dropped on load)",
            # the project's mirror holds the upstream file less its 100 cse rows
            mirror_names=("airr_official_1.0_demo_en_us_prompt_set_release_no_cse.csv",),
            mirror_sha256=("54716356ddf4aef4c4cb72af35afdf95b57a21b98d3bf32d43ffd799e2a49207",),
        ),
    )
}
"""Every pinned asset by name."""


def get_asset(name: str) -> Asset:
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(f"unknown asset {name!r} (known: {', '.join(ASSETS)}).") from None


def cache_dir() -> Path:
    """Where downloaded assets are kept: the user cache (e.g. ~/.cache/nodesynth/assets)."""
    import platformdirs

    return platformdirs.user_cache_path("nodesynth") / "assets"


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_in_mirror(asset: Asset, mirror: Path) -> Path | None:
    """The first file under `mirror` with one of the asset's names (shallowest, then alphabetical)."""
    if not mirror.is_dir():
        raise AssetError(f"{MIRROR_ENV}={mirror} is not a directory; point it at a folder holding the asset files.")
    wanted = set(asset.names)
    hits = [path for path in mirror.rglob("*") if path.name in wanted and path.is_file()]
    return min(hits, key=lambda path: (len(path.parts), str(path))) if hits else None


def _verified(asset: Asset, path: Path, where: str) -> Path:
    actual = sha256_of(path)
    if actual not in asset.accepted_sha256:
        raise AssetError(
            f"asset '{asset.name}' at {path} ({where}) has sha256 {actual}, not the pinned {asset.sha256}; "
            "it was not used (delete or replace the file)."
        )
    return path


def asset_path(name: str, *, base_url: str | None = None, progress: bool = True) -> Path:
    """A verified local copy of the asset: from the mirror, the cache, or downloaded into the cache.

    Raises:
      AssetError: unknown name, not in the mirror, a checksum mismatch, or no copy and no network.
    """
    asset = get_asset(name)
    mirror = mirror_dir()
    if mirror is not None:
        found = find_in_mirror(asset, mirror)
        if found is not None:
            return _verified(asset, found, f"mirror {MIRROR_ENV}")
    cached = cache_dir() / asset.file_name
    if cached.is_file():
        return _verified(asset, cached, "user cache")
    if mirror is not None:
        raise AssetError(
            f"asset '{asset.name}' ({' or '.join(asset.names)}) is not under {MIRROR_ENV}={mirror} nor in the cache; "
            f"add it there from {asset.url(base_url)}, or unset {MIRROR_ENV} to download it."
        )
    return download(asset, cached, base_url=base_url, progress=progress)


def download(asset: Asset, target: Path, *, base_url: str | None = None, progress: bool = True) -> Path:
    """Fetch the asset into `target` atomically: hashed while written, renamed only when it matches."""
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    url = asset.url(base_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with (
            os.fdopen(handle, "wb") as out,
            httpx.stream("GET", url, timeout=TIMEOUT_SECONDS, follow_redirects=True) as response,
        ):
            response.raise_for_status()
            total = int(response.headers.get("Content-Length", 0)) or None
            columns = (TextColumn(f"{asset.name}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            with Progress(*columns, disable=not progress, transient=True) as bar:
                task = bar.add_task("download", total=total)
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(task, advance=len(chunk))
        if digest.hexdigest() not in asset.accepted_sha256:
            raise AssetError(
                f"asset '{asset.name}' downloaded from {url} has sha256 {digest.hexdigest()}, not the pinned "
                f"{asset.sha256}; it was discarded."
            )
        os.replace(temporary, target)
    except httpx.HTTPError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AssetError(
            f"asset '{asset.name}' is not in the cache and could not be downloaded from {url} ({reason}); "
            f"set {MIRROR_ENV}=DIR to a folder holding {asset.file_name}, or fetch it when online."
        ) from None
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target


def asset_status(asset: Asset) -> tuple[str, Path | None]:
    """Where the asset would come from now, without verifying or fetching: ('mirror'|'cached'|'missing', path)."""
    mirror = mirror_dir()
    if mirror is not None and mirror.is_dir() and (found := find_in_mirror(asset, mirror)) is not None:
        return "mirror", found
    cached = cache_dir() / asset.file_name
    return ("cached", cached) if cached.is_file() else ("missing", None)
