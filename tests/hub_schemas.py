"""The real features of the Hugging Face hub datasets that tests fake with local parquet files.

Each schema was copied from a published description of the dataset (named above it: the dataset card's
``dataset_info`` YAML, the ``dataset_infos.json`` or the loading script that produced the hub copy), so a loader
tested on :func:`hub_parquet` files meets the hub's column names, dtypes and label encodings, and SPLITS lists the
split names the same source gives. Where no source could be found the schema is absent, not guessed.
"""

from __future__ import annotations

from pathlib import Path

from datasets import ClassLabel, Features, List, Value

_ANSWERS = {"text": List(Value("string")), "answer_start": List(Value("int32"))}  # a Sequence of dicts


# google/xtreme, config PAN-X.<lang> (here PAN-X.de). Sources: the hub repo's xtreme.py as shown in its commit
# https://huggingface.co/datasets/google/xtreme/commit/6d98a07a7b825ee0e3a3a06f14aa4390956eba06 - tokens (Sequence
# string), ner_tags (Sequence ClassLabel O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC), langs (Sequence string); and
# a stored copy of the card's dataset_info YAML, config PAN-X.de, with the same columns, names 0..6 in that order,
# splits test, train, validation.
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
PANX = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=list(PANX_TAGS))),
                 "langs": List(Value("string"))})

# google/xtreme, config udpos.<Language> (here udpos.German). Sources: the hub card's dataset_info YAML as shown in
# https://huggingface.co/datasets/google/xtreme/commit/7d9c89aa10efbcc030c73278f664a0645d874cd4 ("Add udpos.German
# data files": ... '15': VERB, '16': X; splits train, validation, test) and xtreme.py in hub commit 53bd0028e417
# (pos_tags = Sequence ClassLabel of the 17 UPOS tags below, in this order; tokens Sequence string). Kazakh has only
# train/test and Tagalog, Thai, Yoruba only test (xtreme.py's split generators).
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
             "SCONJ", "SYM", "VERB", "X")
UDPOS = Features({"tokens": List(Value("string")), "pos_tags": List(ClassLabel(names=list(UPOS_TAGS)))})

# facebook/xnli, config <lang> (here ur). Source: the card's dataset_info YAML,
# https://huggingface.co/datasets/facebook/xnli/blob/30f05912bbad2b003b679a8f0b90ca71303c154f/README.md - per
# language: premise (string), hypothesis (string), label (class_label 0 entailment, 1 neutral, 2 contradiction);
# splits train, test, validation.
XNLI = Features({"premise": Value("string"), "hypothesis": Value("string"),
                 "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})

# google-research-datasets/paws-x, config <lang> (here ko). Source: the dataset's features as published in the
# TFDS community catalog of the hub copy (tensorflow.org/datasets/community_catalog/huggingface/paws-x): id (int32),
# sentence1, sentence2 (string), label (ClassLabel names "0", "1"); splits test, train, validation; and the card's
# dataset_info ('1': '1') in hub commit a7dcf2b89eefd695b111d6c840d9a515ae4f9a58 "Add ko data files". The card notes
# missing or wrong labels are -1.
PAWSX = Features({"id": Value("int32"), "sentence1": Value("string"), "sentence2": Value("string"),
                  "label": ClassLabel(names=["0", "1"])})

# cambridgeltl/xcopa, config <lang> (here th). Source: the card's dataset_info YAML,
# https://huggingface.co/datasets/cambridgeltl/xcopa/blob/5abe7ba112d121057faa0f8178c6ae8387f573cf/README.md -
# premise, choice1, choice2, question (string), label (int32, not a class label), idx (int32), changed (bool);
# splits validation, test.
XCOPA = Features({"premise": Value("string"), "choice1": Value("string"), "choice2": Value("string"),
                  "question": Value("string"), "label": Value("int32"), "idx": Value("int32"),
                  "changed": Value("bool")})

# google-research-datasets/tydiqa, config secondary_task (GoldP). Source: the loading script behind the hub copy,
# github.com/huggingface/datasets datasets/tydiqa/tydiqa.py, _info for secondary_task: id, title, context,
# question (string), answers (Sequence of text string, answer_start int32); splits train, validation. Ids start
# with the language name ("swahili-...").
TYDIQA_GOLDP = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                         "question": Value("string"), "answers": _ANSWERS})

# google/xquad, config xquad.<lang> (here xquad.de). Source: github.com/huggingface/datasets datasets/xquad/xquad.py,
# _info: id, context, question (string), answers (Sequence of text string, answer_start int32) - no title; one
# split, validation. The hub card (commit b3610657 "Add xquad.de data files") lists the one validation split.
XQUAD = Features({"id": Value("string"), "context": Value("string"), "question": Value("string"),
                  "answers": _ANSWERS})

# facebook/mlqa, config mlqa.<ctx>.<q> (here mlqa.zh.zh). Source: github.com/huggingface/datasets
# datasets/mlqa/mlqa.py, _info shared by all configs: context, question (string), answers (Sequence of answer_start
# int32, text string), id (string) - no title; mlqa.x.y splits test, validation. The card
# (huggingface.co/datasets/facebook/mlqa README dataset_info) lists the same four columns.
MLQA = Features({"context": Value("string"), "question": Value("string"),
                 "answers": {"answer_start": List(Value("int32")), "text": List(Value("string"))}, "id": Value("string")})

# ---- English intermediate tasks ----------------------------------------------------------------------------------
_NLI = ClassLabel(names=["entailment", "neutral", "contradiction"])

# nyu-mll/glue, config sst2. Source: the card's dataset_info YAML,
# https://huggingface.co/datasets/nyu-mll/glue/blob/9c8fae18bd0912f7b4041f06b6befd3ae3abc207/README.md - sentence
# (string), label (class_label 0 negative, 1 positive), idx (int32); splits test, train, validation (GLUE test
# labels are hidden: -1). Configs mnli and qqp were not found with the tools used here, so they have no schema.
SST2 = Features({"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"]), "idx": Value("int32")})

# stanfordnlp/snli, config plain_text. Source: the card's dataset_info YAML,
# https://huggingface.co/datasets/stanfordnlp/snli/blob/cdb5c3d5eed6ead6e5a341c8e56e669bb666725b/README.md - premise,
# hypothesis (string), label (class_label 0 entailment, 1 neutral, 2 contradiction; -1 for no gold label); splits
# test, validation, train.
SNLI = Features({"premise": Value("string"), "hypothesis": Value("string"), "label": _NLI})

# facebook/anli, config plain_text. Source: the TFDS community catalog of the hub copy
# (tensorflow.org/datasets/community_catalog/huggingface/anli): uid, premise, hypothesis (string), label (ClassLabel
# entailment, neutral, contradiction), reason (string); splits train_r1..3, dev_r1..3, test_r1..3 (the hub tree
# https://huggingface.co/datasets/facebook/anli/tree/a89355082895678b0e6766ac0e834e9f36286fb3/plain_text/dev_r1).
ANLI = Features({"uid": Value("string"), "premise": Value("string"), "hypothesis": Value("string"), "label": _NLI,
                 "reason": Value("string")})

# Rowan/hellaswag. Source: the TFDS community catalog of the hub copy
# (tensorflow.org/datasets/community_catalog/huggingface/hellaswag): ind (int32), activity_label, ctx_a, ctx_b, ctx
# (string), endings (Sequence string), source_id, split, split_type (string), label (string, "" on test); splits
# test, train, validation.
HELLASWAG = Features({"ind": Value("int32"), "activity_label": Value("string"), "ctx_a": Value("string"),
                      "ctx_b": Value("string"), "ctx": Value("string"), "endings": List(Value("string")),
                      "source_id": Value("string"), "split": Value("string"), "split_type": Value("string"),
                      "label": Value("string")})

# tau/commonsense_qa. Source: the card's dataset_info YAML,
# https://huggingface.co/datasets/tau/commonsense_qa/blob/745d1ef4676f282d239f7bad8551803525afba95/README.md - id,
# question, question_concept (string), choices (Sequence of label, text strings), answerKey (string, "" on test);
# splits test, train, validation.
COMMONSENSE_QA = Features({"id": Value("string"), "question": Value("string"), "question_concept": Value("string"),
                           "choices": {"label": List(Value("string")), "text": List(Value("string"))},
                           "answerKey": Value("string")})

# allenai/cosmos_qa. Source: the TFDS community catalog of the hub copy
# (tensorflow.org/datasets/community_catalog/huggingface/cosmos_qa): id, context, question, answer0..answer3
# (string), label (int32, not a class label); splits test, train, validation.
COSMOS_QA = Features({"id": Value("string"), "context": Value("string"), "question": Value("string"),
                      **{f"answer{k}": Value("string") for k in range(4)}, "label": Value("int32")})

# rajpurkar/squad_v2, config squad_v2. Source: the card's dataset_info YAML as added in
# https://huggingface.co/datasets/rajpurkar/squad_v2/commit/8de6c30169deba79c1aff62478ff207cc9aded4f - id, title,
# context, question (string), answers (Sequence of text string, answer_start int32; empty when unanswerable); splits
# train, validation.
SQUAD_V2 = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                     "question": Value("string"), "answers": _ANSWERS})

# allenai/social_i_qa (read from its parquet export, config "default"). Source: the loading script,
# github.com/huggingface/datasets datasets/social_i_qa/social_i_qa.py: context, question, answerA, answerB, answerC,
# label - all strings ("1".."3", read from the .lst file); splits train, validation; no named configs, hence "default".
SOCIAL_I_QA = Features({k: Value("string") for k in ("context", "question", "answerA", "answerB", "answerC", "label")})

SPLITS = {"PAN-X": ("train", "validation", "test"), "udpos": ("train", "validation", "test"),
          "xnli": ("train", "validation", "test"), "paws-x": ("train", "validation", "test"),
          "xcopa": ("validation", "test"), "tydiqa/secondary_task": ("train", "validation"),
          "xquad": ("validation",), "mlqa": ("validation", "test"), "glue/sst2": ("train", "validation", "test"),
          "snli": ("train", "validation", "test"), "hellaswag": ("train", "validation", "test"),
          "anli": tuple(f"{b}_r{r}" for b in ("train", "dev", "test") for r in (1, 2, 3)),
          "commonsense_qa": ("train", "validation", "test"), "cosmos_qa": ("train", "validation", "test"),
          "squad_v2": ("train", "validation"), "social_i_qa": ("train", "validation")}


def hub_parquet(path: Path, features: Features, rows: list[dict]) -> Path:
    """Write ``rows`` (each with every column of ``features``, labels as the hub's ints) as one parquet file."""
    import datasets

    missing = [(i, sorted(set(features) ^ set(r))) for i, r in enumerate(rows) if set(r) != set(features)]
    if missing:
        raise ValueError(f"rows do not have the hub columns {sorted(features)}: {missing}")
    data = {name: [r[name] for r in rows] for name in features}
    datasets.Dataset.from_dict(data, features=features).to_parquet(str(path))
    return path

# rajpurkar/squad, config plain_text, and google/xtreme's MLQA.<ctx>.<q> Parquet conversion. Sources: the SQuAD card's
# dataset_info (id, title, context, question string; answers Sequence of text string, answer_start int32; splits
# train, validation) and google/xtreme's xtreme.py, whose MLQA configs share the SQuAD features (title included; not
# re-read at the pinned commit offline: the preflight and the first online load check it).
SQUAD_V1 = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                     "question": Value("string"), "answers": {"text": List(Value("string")),
                                                              "answer_start": List(Value("int32"))}})
