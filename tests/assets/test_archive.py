"""Archive members never land outside the extraction directory: ``..`` and absolute paths are refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autodistiller.assets._archive import safe_member_path
from autodistiller.assets._models import ModelSpec, build_model
from autodistiller.errors import AssetError


@pytest.mark.parametrize("member", ["/etc/passwd", "../x", "a/../../x", "a\\..\\..\\x", "\\\\server\\share\\x",
                                    "C:\\x", "C:x", "//x"])
def test_escaping_member_paths_are_refused(tmp_path, member):
    with pytest.raises(AssetError, match="escapes the extraction directory"):
        safe_member_path(tmp_path, member, archive="evil.whl")


def test_a_symlink_out_of_the_directory_is_refused(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(AssetError, match="outside"):
        safe_member_path(dest, "link/config.json")


def test_ordinary_members_map_inside(tmp_path):
    assert safe_member_path(tmp_path, "sub/config.json") == (tmp_path / "sub" / "config.json").resolve()
    assert safe_member_path(tmp_path, "a..b/c") == (tmp_path / "a..b" / "c").resolve()  # a name, not a component


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("escape", ["absolute", "dotdot"])
def test_model_extraction_refuses_a_member_that_escapes(tmp_path, escape):
    outside = tmp_path / "outside" / "pwned.json"
    outside.parent.mkdir()
    # "model/" + "/abs/path" is an absolute path once the prefix is cut; "model/../../outside/..." climbs out
    name = f"model/{outside}" if escape == "absolute" else "model/../../outside/pwned.json"
    archive = _wheel(tmp_path / "evil-0.1-py3-none-any.whl",
                     {"model/config.json": b"{}", "model/model.safetensors": b"x", name: b"{}"})
    spec = ModelSpec("evil", ("evil",), "model/", "a hostile archive", "-")
    with pytest.raises(AssetError, match="escapes the extraction directory"):
        build_model(spec, [archive], tmp_path / "models")
    assert not outside.exists()
    assert not (tmp_path / "models" / "evil").exists()
