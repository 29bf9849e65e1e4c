"""Shared test fixtures: offline mode, the ../shared data folder (skip when absent), tiny matrices."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The model-description cache (harness.modeling.meta) of this test session, not the user's.
os.environ.setdefault("XLT_HARNESS_META_CACHE", os.path.join(tempfile.mkdtemp(prefix="xlt-meta-"), "model-meta.json"))
# The remembered file digests (harness.toolkit.filehash) of this test session, not the user's.
os.environ.setdefault("XLT_HARNESS_HASH_CACHE", os.path.join(tempfile.mkdtemp(prefix="xlt-hash-"), "hashes.json"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XLT_SHARED_DIR", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
ME5_DIR = Path(os.environ.get("XLT_ME5_DIR", Path.home() / ".cache" / "xlt-harness" / "me5-small"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repo; the test is skipped when it is absent (a user's fresh machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data samples not found at {SHARED_DATA} (set XLT_SHARED_DIR)")
    return SHARED_DATA


@pytest.fixture
def me5_dir() -> Path:
    """The multilingual-e5-small folder built by ../shared/tools/me5-small/build.sh at set-up; skip if absent."""
    if not (ME5_DIR / "config.json").exists():
        pytest.skip(f"me5-small not built at {ME5_DIR}; run ../shared/tools/me5-small/build.sh (README set-up)")
    return ME5_DIR


@pytest.fixture
def registry():
    """The plugin registry of the installed plugins (entry points)."""
    from harness.core import registry as plugins

    return plugins.registry()


@pytest.fixture(scope="session")
def quickstart_root(tmp_path_factory) -> Path:
    """A folder laid out like the repo after ``bash scripts/quickstart.sh``: ``configs/quickstart.yaml`` (the
    repo's file, unchanged) run once per session from there, so ``runs/quickstart/`` and
    ``leaderboards/quickstart.jsonl`` sit where the README says."""
    import shutil

    from click.testing import CliRunner

    from harness.cli.main import main

    root = tmp_path_factory.mktemp("quickstart")
    (root / "configs").mkdir()
    shutil.copy(REPO / "configs" / "quickstart.yaml", root / "configs" / "quickstart.yaml")
    here = os.getcwd()
    os.chdir(root)
    try:
        res = CliRunner().invoke(main, ["matrix", "run", "configs/quickstart.yaml"])
    finally:
        os.chdir(here)
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture(scope="session")
def quickstart_board(quickstart_root) -> Path:
    """The leaderboard the quickstart wrote (see ``quickstart_root``)."""
    return quickstart_root / "leaderboards" / "quickstart.jsonl"


@pytest.fixture(scope="module")
def test_spm(tmp_path_factory) -> Path:
    """A small unigram SentencePiece model trained now on the synthetic corpus (NOT the FLORES-200 model; scores
    with it are labelled custom)."""
    import io

    import sentencepiece as spm

    from harness.toolkit.synthetic import corpus

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus() * 3), model_writer=buf, vocab_size=200,
                                   model_type="unigram", hard_vocab_limit=False, minloglevel=2)
    path = tmp_path_factory.mktemp("spm") / "test.model"
    path.write_bytes(buf.getvalue())
    return path
