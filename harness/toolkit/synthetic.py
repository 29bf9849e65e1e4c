"""SYNTHETIC smoke data: tiny, seeded, templated sentences in a few languages.

Nothing here is real data. It exists so that the quickstart and the tests run the whole pipeline offline in
minutes; task plugins write it to disk in their official file layouts (see each task's ``fixture``).
"""

from __future__ import annotations

import random

SYNTHETIC_NOTE = "SYNTHETIC smoke data written by xlt-harness (templated sentences, not a benchmark)"

# A small parallel lexicon: (noun, adjective) vocabularies and the sentence frames of each language.
LEXICON = {
    "en": {
        "nouns": ["cat", "dog", "house", "car", "tree", "bird", "river", "book"],
        "adjs": ["red", "big", "old", "small", "green", "fast", "quiet", "warm"],
        "is": "the {n} is {a}", "not": "the {n} is not {a}", "and": "{x} and {y}",
    },
    "de": {
        "nouns": ["Katze", "Hund", "Haus", "Auto", "Baum", "Vogel", "Fluss", "Buch"],
        "adjs": ["rot", "groß", "alt", "klein", "grün", "schnell", "leise", "warm"],
        "is": "das {n} ist {a}", "not": "das {n} ist nicht {a}", "and": "{x} und {y}",
    },
    "es": {
        "nouns": ["gato", "perro", "casa", "coche", "árbol", "pájaro", "río", "libro"],
        "adjs": ["rojo", "grande", "viejo", "pequeño", "verde", "rápido", "tranquilo", "cálido"],
        "is": "el {n} es {a}", "not": "el {n} no es {a}", "and": "{x} y {y}",
    },
    "fr": {
        "nouns": ["chat", "chien", "maison", "voiture", "arbre", "oiseau", "rivière", "livre"],
        "adjs": ["rouge", "grand", "vieux", "petit", "vert", "rapide", "calme", "chaud"],
        "is": "le {n} est {a}", "not": "le {n} n'est pas {a}", "and": "{x} et {y}",
    },
}
LANGUAGES = tuple(LEXICON)
NLI_LABELS = ("entailment", "neutral", "contradiction")


def _draw_facts(rng: random.Random) -> tuple[int, int, int, int, int, int, str]:
    """Three distinct nouns with an adjective each (premise: the first two; the third for neutral) and a label."""
    n1, n2, n3 = rng.sample(range(8), 3)
    a1, a2, a3 = (rng.randrange(8) for _ in range(3))
    return n1, a1, n2, a2, n3, a3, NLI_LABELS[rng.randrange(3)]


def _premise(lx: dict, n1: int, a1: int, n2: int, a2: int) -> str:
    """'the N1 is A1 and the N2 is A2' in the lexicon's language."""
    x = lx["is"].format(n=lx["nouns"][n1], a=lx["adjs"][a1])
    y = lx["is"].format(n=lx["nouns"][n2], a=lx["adjs"][a2])
    return lx["and"].format(x=x, y=y)


def nli_rows(n: int, seed: int, languages: tuple[str, ...] = LANGUAGES) -> dict[str, list[tuple[str, str, str]]]:
    """``n`` parallel (premise, hypothesis, label) rows per language, the same draws in every language.

    Entailment repeats one conjunct of the premise, contradiction negates one, neutral states a fact about a
    noun the premise does not mention.
    """
    rng = random.Random(seed)
    draws = []
    for _ in range(n):
        draws.append((*_draw_facts(rng), rng.randrange(2)))
    out: dict[str, list[tuple[str, str, str]]] = {}
    for lang in languages:
        lx = LEXICON[lang]
        rows = []
        for n1, a1, n2, a2, n3, a3, label, pick in draws:
            premise = _premise(lx, n1, a1, n2, a2)
            noun, adj = ((n1, a1), (n2, a2))[pick]
            if label == "entailment":
                hyp = lx["is"].format(n=lx["nouns"][noun], a=lx["adjs"][adj])
            elif label == "contradiction":
                hyp = lx["not"].format(n=lx["nouns"][noun], a=lx["adjs"][adj])
            else:
                hyp = lx["is"].format(n=lx["nouns"][n3], a=lx["adjs"][a3])
            rows.append((premise, hyp, label))
        out[lang] = rows
    return out


# The planted effect (see ``planted_nli_rows``): cue symbols written identically in every synthetic language, each
# tied to one label. They are single characters outside the lexicon, so every tiny tokenizer encodes each one the
# same way in every language, and the tokenizers themselves do not change.
CUES = {
    "entailment": ("0", "1", "2", "3", "4", "5"),
    "neutral": ("6", "7", "8", "9", "#", "$"),
    "contradiction": ("%", "&", "*", "+", "=", "@"),
}


def planted_nli_rows(n: int, seed: int, languages: tuple[str, ...] = LANGUAGES, noise: float = 0.0,
                     surface: bool = False, cue_noise: float = 0.0) -> dict[str, list[tuple[str, str, str]]]:
    """``n`` parallel NLI rows per language whose label is carried by a shared cue symbol (the planted skill).

    The hypothesis ends with one cue symbol from ``CUES[label]``, the same in every language. With
    ``surface=False`` premise and hypothesis are random templated sentences (no other label signal): the
    synthetic MNLI, which teaches the cue lexicon. With ``surface=True`` they also follow ``nli_rows``'
    templates (entailment repeats a conjunct, contradiction negates one, neutral names another noun): a weaker,
    language-specific signal a model trained on English learns in part (mostly the English negation word), while
    the cues, seen too rarely in a small noisy training set, stay out of reach unless an intermediate task
    taught them. ``noise`` is the share of rows whose written label is replaced by another label (drawn after
    the cue, so the cue and the templates still say the true one).
    """
    rng = random.Random(seed)
    draws = []
    for _ in range(n):
        n1, a1, n2, a2, n3, a3, label = _draw_facts(rng)
        cue = rng.choice(CUES[label])
        written = label
        if noise and rng.random() < noise:
            written = rng.choice([x for x in NLI_LABELS if x != label])
        pick = rng.randrange(2) if surface else 0
        if cue_noise and rng.random() < cue_noise:
            cue = rng.choice(CUES[rng.choice([x for x in NLI_LABELS if x != label])])
        draws.append((n1, a1, n2, a2, n3, a3, label, cue, written, pick))
    out: dict[str, list[tuple[str, str, str]]] = {}
    for lang in languages:
        lx = LEXICON[lang]
        rows = []
        for n1, a1, n2, a2, n3, a3, label, cue, written, pick in draws:
            noun, adj = ((n1, a1), (n2, a2))[pick] if surface and label != "neutral" else (n3, a3)
            frame = lx["not"] if surface and label == "contradiction" else lx["is"]
            hyp = frame.format(n=lx["nouns"][noun], a=lx["adjs"][adj])
            rows.append((f"{cue} " + _premise(lx, n1, a1, n2, a2), hyp, written))
        out[lang] = rows
    return out


def corpus(languages: tuple[str, ...] = LANGUAGES) -> list[str]:
    """Every word and frame of the lexicon, one line each: enough text to train a tiny tokenizer."""
    lines = []
    for lang in languages:
        lx = LEXICON[lang]
        for n in lx["nouns"]:
            for a in lx["adjs"]:
                lines.append(lx["is"].format(n=n, a=a))
                lines.append(lx["not"].format(n=n, a=a))
    return lines


# SQuAD-layout questions: one 'X lives in Y.' fact per sentence, one question per fact.
QA_LEXICON = {
    "en": ("The {n} lives in {c}.", "Where does the {n} live?", ["cat", "dog", "bird", "fish"],
           ["Paris", "Berlin", "Madrid", "Rome", "Oslo"]),
    "de": ("Die {n} wohnt in {c}.", "Wo wohnt die {n}?", ["Katze", "Hund", "Vogel", "Fisch"],
           ["Paris", "Berlin", "Madrid", "Rom", "Oslo"]),
    "es": ("El {n} vive en {c}.", "¿Dónde vive el {n}?", ["gato", "perro", "pájaro", "pez"],
           ["París", "Berlín", "Madrid", "Roma", "Oslo"]),
    "ar": ("يعيش {n} في {c}.", "أين يعيش {n}؟", ["القط", "الكلب", "الطائر", "السمك"],
           ["باريس", "برلين", "مدريد", "روما", "أوسلو"]),
    "zh": ("{n}住在{c}。", "{n}住在哪里？", ["猫", "狗", "鸟", "鱼"], ["巴黎", "柏林", "马德里", "罗马", "奥斯陆"]),
}


def qa_articles(language: str, n: int, seed: int) -> list[dict]:
    """SQuAD-layout articles: a paragraph of 'X lives in Y.' sentences, one question per sentence."""
    rng = random.Random(seed)
    lex = QA_LEXICON.get(language, QA_LEXICON["en"])
    fact, question, nouns, cities = lex
    sep = "" if language == "zh" else " "
    paragraphs, qid = [], 0
    for _ in range(max(1, n // len(nouns))):
        order = rng.sample(nouns, len(nouns))
        sentences, qas = [], []
        pos = 0
        for noun in order:
            city = rng.choice(cities)
            sent = fact.format(n=noun, c=city)
            start = pos + sent.index(city)
            sentences.append(sent)
            pos += len(sent) + len(sep)
            qas.append({"id": f"syn-{seed}-{qid}", "question": question.format(n=noun),
                        "answers": [{"answer_start": start, "text": city}]})
            qid += 1
        paragraphs.append({"context": sep.join(sentences), "qas": qas})
    return [{"title": f"synthetic-{p}", "paragraphs": [para]} for p, para in enumerate(paragraphs)]


def byte_bpe_tokenizer(vocab_size: int, extra_text: list[str] | None = None,
                       specials: tuple[str, ...] | list[str] = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")):
    """A byte-level BPE tokenizer (any script encodes) trained on ``corpus()`` (+ ``extra_text``), with RoBERTa-style
    specials ``<s> $A </s>`` and a ``PreTrainedTokenizerFast`` wrapper: the tokenizer of tiny test encoders."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus() + list(extra_text or []), trainer=trainer)
    cls, sep = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", cls), ("</s>", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
        pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
    )
