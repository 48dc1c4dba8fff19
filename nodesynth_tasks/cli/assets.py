"""`nodesynth assets list` and `nodesynth assets fetch [NAME]`: the pinned public files the tasks read.

A sub-app the root app mounts (`app.add_typer(assets_app, name="assets")`); errors are raised as
`AssetError` (a `NodeSynthError`) and printed once by the root group.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nodesynth_common.assets import ASSETS, MIRROR_ENV, asset_path, asset_status, cache_dir, get_asset

assets_app = typer.Typer(help="The pinned public files the release tasks and baselines read.", no_args_is_help=True)


@assets_app.command("list")
def list_assets() -> None:
    """List every pinned asset: where it comes from, its licence, and whether it is available here."""
    table = Table("name", "file", "source (repo @ commit)", "licence", "here")
    for asset in ASSETS.values():
        status, path = asset_status(asset)
        table.add_row(asset.name, asset.file_name, f"{asset.repo} @ {asset.commit[:12]}", asset.licence,
                      status if path is None else f"{status}: {path}")
    console = Console()
    console.print(table)
    console.print(f"cache: {cache_dir()}; mirror: ${MIRROR_ENV} (files found by name anywhere under it)", highlight=False)


@assets_app.command("fetch")
def fetch(
    name: Annotated[str | None, typer.Argument(help="the asset to fetch; default: all of them")] = None,
) -> None:
    """Fetch (or find in the mirror) and verify assets by sha256; a verified copy is reused afterwards."""
    names = [get_asset(name).name] if name else list(ASSETS)
    for each in names:
        path = asset_path(each)
        typer.echo(f"{each}: {path} (sha256 verified)")
