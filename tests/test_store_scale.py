"""The fast paths that keep a 200k-node matrix cheap give exactly what the plain code gives: node keys (one
``json.dumps`` of the whole payload), the events log and row files (line by line), the leaderboard's row count."""

from __future__ import annotations

import hashlib
import json

from harness.core.rows import read_jsonl
from harness.planning.config import NOT_IN_KEY
from harness.planning.plan import PIPELINE_VERSION, KeyCoder, _location_free
from harness.store.events import read_events
from harness.store.status import count_rows


def plain_key(stage, payload):  # the formula before KeyCoder
    payload = {k: v for k, v in payload.items() if k != "provenance"}
    blob = json.dumps({"stage": stage, "pipeline": PIPELINE_VERSION, **_location_free(payload)}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def test_key_coder_is_byte_for_byte_the_plain_formula(tmp_path):
    model = {"name": "m", "source": "local:x", "options": {"b": 1, "a": [1.5, None, True]}, "layers": None}
    task = {"name": "t", "data": {"kind": "local", "path": str(tmp_path)}, "fingerprint": "sha256:ab"}
    coder = KeyCoder()
    for lang in ("en", "de", "zh-Hant", "é", ""):
        payload = {"model": model, "seed": 3, "task": task, "language": lang, "upstream": None, "lr": 1e-5,
                   "hp": {"lr": 2e-5, NOT_IN_KEY[0]: "30 min", "nested": {"path": "/x", "z": 1}},
                   NOT_IN_KEY[0]: "500 steps", "path": "/somewhere", "provenance": {"any": "thing"},
                   "tuple": ("a", 1), "weird": tmp_path, "flag": False, "n": -7}
        assert coder.key("eval", payload) == plain_key("eval", payload)
        assert coder.template("eval", payload, "language")(lang) == plain_key("eval", payload)


def test_events_and_rows_parse_as_line_by_line(tmp_path, capsys):
    log = tmp_path / "events.jsonl"
    good = [{"time": 1.0, "event": "start", "node": "k"}, {"time": 2.0, "event": "finish", "label": "ü"}]
    log.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in good) + "\n  \n")
    assert read_events(tmp_path) == good
    log.write_text(json.dumps(good[0]) + "\n" + '{"time": 1.5, "ev' + "\n" + json.dumps(good[1]) + "\n[1]\n")
    assert read_events(tmp_path) == good  # the torn line and the non-object skipped, with a warning
    assert "line 2 is not a complete event" in capsys.readouterr().err
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n\n{"b": [2, 3]}\n')
    assert read_jsonl(rows) == [{"a": 1}, {"b": [2, 3]}]
    rows.write_text('{"a": 1}\n{"b": 2')  # a torn tail
    assert read_jsonl(rows) == [{"a": 1}]


def test_count_rows_is_len_of_read_jsonl(tmp_path):
    path = tmp_path / "lb.jsonl"
    for text in ('{"a": 1}\n{"a": 2}\n', '{"a": 1}\n\n \n{"a": 2}', '{"a": 1}\n{"a": 2', "", "\n"):
        path.write_text(text)
        assert count_rows(path) == len(read_jsonl(path)), text
