"""The shared datasets are found from a clone anywhere: in it, beside it or above it."""

from pathlib import Path

import pytest

from ml import datasets


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CS_DATASETS_DIR", raising=False)
    repo = tmp_path / "work" / "sessions" / "clone"
    repo.mkdir(parents=True)
    monkeypatch.setattr(datasets, "REPO", repo)
    return repo


@pytest.mark.parametrize("where", ["clone", "sessions", "work"])
def test_the_nearest_shared_datasets_folder_up_the_tree_is_found(clone: Path, where: str) -> None:
    base = {"clone": clone, "sessions": clone.parent, "work": clone.parent.parent}[where]
    (base / "shared" / "datasets").mkdir(parents=True)
    assert datasets.datasets_dir() == base / "shared" / "datasets"


def test_the_sibling_wins_over_a_folder_further_up(clone: Path) -> None:
    for base in (clone.parent, clone.parent.parent):
        (base / "shared" / "datasets").mkdir(parents=True)
    assert datasets.datasets_dir() == clone.parent / "shared" / "datasets"


def test_a_missing_folder_says_where_it_looked(clone: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        datasets.datasets_dir()
    message = str(error.value)
    for folder in (clone, clone.parent, clone.parent.parent, Path("/")):
        assert str(folder / "shared" / "datasets") in message
    assert "CS_DATASETS_DIR" in message


def test_the_environment_variable_wins_and_must_exist(
    clone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clone.parent / "shared" / "datasets").mkdir(parents=True)
    monkeypatch.setenv("CS_DATASETS_DIR", str(tmp_path))
    assert datasets.datasets_dir() == tmp_path
    monkeypatch.setenv("CS_DATASETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"CS_DATASETS_DIR=.*missing is not a folder"):
        datasets.datasets_dir()
