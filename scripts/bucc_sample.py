"""Cut the BUCC 2018 zh-en sample to a smaller mining problem for the real study (deterministic, no randomness).

    python scripts/bucc_sample.py ../shared/data/bucc2018 runs/real-offline/data/bucc2018 --lines 1500

Keeps every sentence that takes part in a gold pair plus the first ``--lines`` lines of each side, with the whole
gold list, in the official file layout (``zh-en.dev.{zh,en,gold}``). The full sample (8,624 zh and 13,589 en
sentences, 257 gold pairs) costs 22k sentence encodings per checkpoint; the cut keeps all 257 pairs among about
1.75k sentences a side, so F1 on it is higher than on the full sample: compare it only with itself. The source
files are read, never copied whole; a SOURCE.md beside the cut names them and their sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path


def cut(src: Path, out: Path, lines: int, pair: str = "zh-en") -> dict[str, int]:
    lang = pair.split("-")[0]
    gold_path = src / f"{pair}.dev.gold"
    for path in (gold_path, src / f"{pair}.dev.{lang}", src / f"{pair}.dev.en"):
        if not path.exists():
            sys.exit(f"{path} not found: pass the folder of ../shared/data/bucc2018 (BUCC 2018 {pair} sample: "
                     f"{pair}.dev.{{{lang},en,gold}})")
    gold = []
    for n, ln in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), 1):
        if ln.strip():
            fields = ln.split("\t")
            if len(fields) != 2:
                sys.exit(f"{gold_path}:{n}: {ln!r} is not 'SOURCE_ID<TAB>TARGET_ID' (BUCC gold layout)")
            gold.append(fields)
    keep = {lang: {s.strip() for s, _ in gold}, "en": {t.strip() for _, t in gold}}
    out.mkdir(parents=True, exist_ok=True)
    counts, sources = {}, []
    for side in (lang, "en"):
        path = src / f"{pair}.dev.{side}"
        rows = path.read_text(encoding="utf-8").splitlines()
        kept = [r for i, r in enumerate(rows) if i < lines or r.split("\t")[0] in keep[side]]
        (out / path.name).write_text("\n".join(kept) + "\n", encoding="utf-8")
        counts[side] = len(kept)
        sources.append(path)
    (out / gold_path.name).write_text("".join(f"{s.strip()}\t{t.strip()}\n" for s, t in gold), encoding="utf-8")
    sources.append(gold_path)
    digests = "\n".join(f"- `{p.name}`: sha256 {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in sources)
    (out / "SOURCE.md").write_text(
        f"# BUCC 2018 {pair} sample, cut by scripts/bucc_sample.py --lines {lines}\n\nFrom {src}:\n"
        f"{digests}\n\nKept: every sentence in a gold pair plus the first {lines} lines of each side "
        f"({counts[lang]} {lang}, {counts['en']} en sentences, {len(gold)} gold pairs).\n", encoding="utf-8")
    return {**counts, "gold": len(gold)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=1500)
    a = ap.parse_args(argv)
    print(cut(a.src, a.out, a.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
