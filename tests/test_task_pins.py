"""Built-in hub tasks pin a revision only where it was confirmed to load with current ``datasets`` (README, "Pinning")."""

from __future__ import annotations

import re
from pathlib import Path

SHA = re.compile(r"[0-9a-f]{40}")
PINNED = {"tatoeba": "69e8f12da6e31d59addadda9a9c8a2e601a0e282", "siqa": "refs/convert/parquet",
          "mlqa": "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6", "panx": "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6",
          "udpos": "68bd9e06bf4bbe671073c975ccd61d754e1bd3d6"}


def test_builtin_hub_pins_are_full_shas_or_the_parquet_branch_and_the_readme_names_them(registry):
    hub = {name: t.spec for name, t in registry.tasks.items() if t.spec.hf_dataset}
    pins = {name: s.hf_revision for name, s in hub.items() if s.hf_revision is not None}
    assert pins == PINNED
    for rev in pins.values():
        assert SHA.fullmatch(rev) or rev == "refs/convert/parquet"  # never an abbreviated sha or a moving "main"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Pinning and the lock file.**"):]
    section = section[:section.index("\n\n")]
    for name, rev in pins.items():
        assert f"`{name}`" in section and f"`{rev}`" in section
    for name in set(hub) - set(pins):
        assert f"`{name}`" in section, f"README's pinning paragraph does not list unpinned task {name}"
