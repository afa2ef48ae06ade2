"""Shared helpers for the h1 tests: recorded samples and a simulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import H1_SAMPLES


def _require_samples() -> Path:
    if not H1_SAMPLES.is_dir():
        pytest.skip("../shared/upstream-samples/h1 is absent")
    return H1_SAMPLES


def campaign_status_samples() -> list[dict]:
    """Every recorded get_campaign_status response: the live capture and the six database exports."""
    if not H1_SAMPLES.is_dir():
        return []
    polls = [json.loads((H1_SAMPLES / "helldivers.bot__get_campaign_status.json").read_text())]
    exported = json.loads((H1_SAMPLES / "helldivers.bot__rebroadcast_status.json").read_text())
    polls += [json.loads(row["json"]) for row in exported]
    return polls


def snapshot_sample_paths() -> list[Path]:
    if not H1_SAMPLES.is_dir():
        return []
    return sorted([*H1_SAMPLES.glob("helldivers.bot__season-*.json"),
                   H1_SAMPLES / "helldivers.bot__get_snapshots.json",
                   *(H1_SAMPLES / "seasons").glob("*.json")])


def sample_id(value) -> str:
    if isinstance(value, Path):
        return value.name.removeprefix("helldivers.bot__").removesuffix(".json")
    return f"season{value['campaign_status'][0]['season']}-t{value['time']}"


def season_of(payload: dict) -> int:
    return payload["snapshots"][0]["season"]


samples_required = pytest.mark.skipif(not H1_SAMPLES.is_dir(), reason="../shared/upstream-samples/h1 is absent")
__all__ = ["_require_samples", "campaign_status_samples", "snapshot_sample_paths", "sample_id", "season_of",
           "samples_required"]
