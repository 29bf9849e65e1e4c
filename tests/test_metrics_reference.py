"""Our metrics against the official scorers on real data (../shared/data; skipped when absent).

Reference values were obtained OUTSIDE this repository by running, on the same deterministic predictions built
below: the official SQuAD v1.1 ``evaluate`` (Python 3 port of evaluate-v1.1.py, as XTREME's
``third_party/evaluate_squad.py``), MLQA's ``mlqa_evaluation_v1.py``, and ``seqeval==0.0.12``'s
``f1_score`` (sdist from PyPI, prefix mode). No code of those scripts is in the project; the numbers are facts.
Predictions perturb the gold deterministically so that exact, partial and empty overlaps all occur.
"""

from __future__ import annotations

import pytest

from harness.metrics import METRICS

REFERENCE = {
    'xquad-en': {'exact_match': 29.943502824858758, 'f1': 68.97656329859721},
    'xquad-de': {'exact_match': 25.98870056497175, 'f1': 67.87520290196474},
    'xquad-ar': {'exact_match': 25.423728813559322, 'f1': 66.2613817617799},
    'mlqa-en': {'exact_match': 31.86813186813187, 'f1': 70.31751284682365},
    'mlqa-en-squadnorm': {'exact_match': 31.86813186813187, 'f1': 70.31751284682365},
    'mlqa-de': {'exact_match': 35.23809523809524, 'f1': 69.95545288822596},
    'mlqa-de-squadnorm': {'exact_match': 27.61904761904762, 'f1': 68.61012573897723},
    'mlqa-es': {'exact_match': 30.4, 'f1': 72.76136860780034},
    'mlqa-es-squadnorm': {'exact_match': 28.0, 'f1': 72.38737830796654},
    'mlqa-ar': {'exact_match': 27.388535031847134, 'f1': 73.59695316180036},
    'mlqa-ar-squadnorm': {'exact_match': 27.388535031847134, 'f1': 71.7524590641863},
    'mlqa-hi': {'exact_match': 28.09917355371901, 'f1': 71.14550051622764},
    'mlqa-hi-squadnorm': {'exact_match': 28.09917355371901, 'f1': 71.00363358550442},
    'mlqa-vi': {'exact_match': 28.125, 'f1': 76.21845327515112},
    'mlqa-vi-squadnorm': {'exact_match': 27.5, 'f1': 76.00949117348182},
    'mlqa-zh': {'exact_match': 29.20353982300885, 'f1': 69.07242285546546},
    'mlqa-zh-squadnorm': {'exact_match': 28.31858407079646, 'f1': 31.48967551622419},
    'tydiqa-en': {'exact_match': 39.0, 'f1': 73.5771751863913},
    'tydiqa-sw': {'exact_match': 30.0, 'f1': 66.93256728778465},
    'panx-en': 44.93062966915688,
    'panx-de': 48.764568764568764,
    'panx-zh': 15.137908915971776,
    'panx-ar': 39.628482972136226,
    'udpos-en': [83.7085003597492, 86.83001531393569],
    'udpos-zh': [83.60051298493106, 88.55176288804607],
    'udpos-ar': [83.77522396163242, 88.68286445012788],
}

pytestmark = pytest.mark.shared_data


def perturb(context: str, start: int, text: str, k: int) -> str:
    m = k % 4
    if m == 0:
        return text
    if m == 1:
        return context[start : start + len(text) + 6]
    if m == 2:
        return context[max(0, start - 5) : start + len(text)]
    return context[start : start + max(1, len(text) // 2)]


def qa_case(registry, task, split, lang, folder, shared):
    examples = registry.task(task).load(split=split, language=lang, data_dir=shared / folder)
    preds = [perturb(e["context"], e["answers"]["answer_start"][0], e["answers"]["text"][0], k)
             for k, e in enumerate(examples)]
    return [e["answers"]["text"] for e in examples], preds


@pytest.mark.parametrize("lang", ["en", "de", "ar"])
def test_xquad_matches_official_squad_script(shared_data, registry, lang):
    golds, preds = qa_case(registry, "xquad", "test", lang, "xquad", shared_data)
    ref = REFERENCE[f"xquad-{lang}"]
    assert METRICS["squad_v1_f1"](golds, preds) == pytest.approx(ref["f1"], abs=1e-9)
    assert METRICS["squad_v1_exact_match"](golds, preds) == pytest.approx(ref["exact_match"], abs=1e-9)


@pytest.mark.parametrize("lang", ["en", "de", "es", "ar", "hi", "vi", "zh"])
def test_mlqa_matches_official_mlqa_script(shared_data, registry, lang):
    golds, preds = qa_case(registry, "mlqa", "dev", lang, "mlqa", shared_data)
    ref, squad_ref = REFERENCE[f"mlqa-{lang}"], REFERENCE[f"mlqa-{lang}-squadnorm"]
    assert METRICS["mlqa_f1"](golds, preds, language=lang) == pytest.approx(ref["f1"], abs=1e-9)
    assert METRICS["mlqa_exact_match"](golds, preds, language=lang) == pytest.approx(ref["exact_match"], abs=1e-9)
    # the SQuAD normalisation on the same predictions gives the other script's number (zh: 31.5 vs 69.1)
    assert METRICS["squad_v1_f1"](golds, preds) == pytest.approx(squad_ref["f1"], abs=1e-9)


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_tydiqa_byte_offset_layout_matches_official_squad_script(shared_data, registry, lang):
    golds, preds = qa_case(registry, "tydiqa", "dev", lang, "tydiqa/opencompass-goldp-dev", shared_data)
    ref = REFERENCE[f"tydiqa-{lang}"]
    assert METRICS["squad_v1_f1"](golds, preds) == pytest.approx(ref["f1"], abs=1e-9)
    assert METRICS["squad_v1_exact_match"](golds, preds) == pytest.approx(ref["exact_match"], abs=1e-9)


FLIP = {"O": "B-LOC"}


def ner_perturb(tags: list[list[str]]) -> list[list[str]]:
    return [[(FLIP.get(t) or ("I-" + t[2:] if t.startswith("B-") else "O")) if (i + j) % 5 == 0 else t
             for j, t in enumerate(s)] for i, s in enumerate(tags)]


def pos_perturb(tags: list[list[str]]) -> list[list[str]]:
    return [[("NOUN" if (i + j) % 3 else "SCONJ") if (i + j) % 7 == 0 else t for j, t in enumerate(s)]
            for i, s in enumerate(tags)]


@pytest.mark.parametrize("lang", ["en", "de", "zh", "ar"])
def test_panx_matches_seqeval_0_0_12(shared_data, registry, lang):
    golds = [e["tags"] for e in registry.task("panx").load(split="dev", language=lang,
                                                           data_dir=shared_data / "panx/xtreme")]
    assert METRICS["ner_seqeval_f1"](golds, ner_perturb(golds)) == pytest.approx(REFERENCE[f"panx-{lang}"], abs=1e-9)


@pytest.mark.parametrize("lang", ["en", "zh", "ar"])
def test_udpos_matches_seqeval_0_0_12_and_accuracy(shared_data, registry, lang):
    golds = [e["tags"] for e in registry.task("udpos").load(split="test", language=lang,
                                                            data_dir=shared_data / "udpos")]
    preds = pos_perturb(golds)
    f1, acc = REFERENCE[f"udpos-{lang}"]
    assert METRICS["pos_seqeval_f1"](golds, preds).value == pytest.approx(f1, abs=1e-9)
    assert METRICS["pos_accuracy"](golds, preds).value == pytest.approx(acc, abs=1e-9)
