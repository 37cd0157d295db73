"""The entity recognizer in a worker process gives exactly the one-process predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from curate.extract.ner_process import NerProcess, crosses_sentence
from curate.extract.preannotate import load_pipeline, preannotate
from curate.io.articles import read_articles
from curate.model import Article

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# A headline the parser splits after "Supporter" while the recognizer alone reads one
# organisation name over the break: the case where the worker's entities are recomputed.
HEADLINE = (
    "Washington Post Hit Piece Exploits Trump Supporter Who Was Dying\n\n"
    "The Washington Post ran a story."
)


def test_crosses_sentence_finds_an_entity_over_a_sentence_start() -> None:
    nlp = spacy.blank("en")
    doc = nlp("Alpha beta. Gamma delta.")
    doc[3].is_sent_start = True  # "Gamma"
    assert crosses_sentence(doc, [(0, 4, "ORG")])
    assert not crosses_sentence(doc, [(0, 2, "ORG"), (3, 5, "ORG")])
    assert not crosses_sentence(doc, [(3, 4, "ORG")])  # starting a sentence is fine


def test_worker_predictions_equal_one_process_predictions() -> None:
    articles = [*read_articles(SEEDS)[0], Article("headline", HEADLINE)]
    assert len(articles) >= 3
    plain = [d.to_dict() for d in preannotate(articles)]
    nlp, version = load_pipeline(ner_process=True)
    assert isinstance(nlp, NerProcess)
    before = nlp.recomputed
    split = [d.to_dict() for d in preannotate(articles, ner_process=True)]
    assert split == plain
    assert any(d["entities"] for d in split)
    assert nlp.recomputed == before + 1  # the headline, recomputed here
    assert version == load_pipeline()[1]  # the same model version is recorded


def test_no_split_when_the_recognizer_is_not_last(tmp_path: Path) -> None:
    from curate.extract.ner_process import cached_ner_process

    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    nlp.add_pipe("sentencizer")  # after ner: it could read the entities
    nlp.initialize()
    nlp.to_disk(tmp_path / "m")
    assert cached_ner_process(str(tmp_path / "m"), ()) is None


def _gone(pid: int, within: float = 15.0) -> bool:
    import time

    import psutil

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def test_close_stops_the_worker_process() -> None:
    from curate.extract.ner_process import cached_ner_process, close_cached
    from curate.extract.nlp import pipes_to_exclude

    split = cached_ner_process(None, pipes_to_exclude(None, {"parser", "ner"}))
    assert split is not None
    split.warm_up()
    pid = split.pid
    assert pid is not None
    close_cached()
    assert _gone(pid)


def test_worker_leaves_when_its_parent_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(
        "from curate.extract.ner_process import cached_ner_process\n"
        "if __name__ == '__main__':\n"
        "    split = cached_ner_process(None, ())\n"
        "    split.warm_up()\n"
        "    print(split.pid, flush=True)\n"
        "    import time; time.sleep(600)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert _gone(worker)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_killed_worker_is_one_clear_error_and_the_next_call_starts_another() -> None:
    import os
    import signal

    from curate.errors import CurateError
    from curate.extract.ner_process import cached_ner_process, close_cached
    from curate.extract.nlp import pipes_to_exclude

    split = cached_ner_process(None, pipes_to_exclude(None, {"parser", "ner"}))
    assert split is not None
    try:
        split.warm_up()
        first = split.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _gone(first)
        with pytest.raises(CurateError, match="entity recognizer's worker process"):
            list(split.pipe(["Anne Hidalgo spoke in Paris."]))
        (doc,) = split.pipe(["Anne Hidalgo spoke in Paris."])
        assert [e.text for e in doc.ents] == ["Anne Hidalgo", "Paris"]
        assert split.pid not in (None, first)
    finally:
        close_cached()


def test_memory_zones_are_held_over_calls_until_zone_texts_went_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from curate.extract import ner_process
    from curate.extract.nlp import pipes_to_exclude

    monkeypatch.setattr(ner_process, "ZONE_TEXTS", 2)
    split = ner_process.cached_ner_process(None, pipes_to_exclude(None, {"parser", "ner"}))
    assert split is not None
    strings = split.nlp.vocab.strings
    try:
        with split.memory_zone():
            (doc,) = split.pipe(["Zyxwvut Qaborn spoke in Paris."])
            assert [e.text for e in doc.ents] == ["Zyxwvut Qaborn", "Paris"]
        assert "Zyxwvut" in strings  # the zone outlived the call: the word is still known
        with split.memory_zone():
            list(split.pipe(["Anne Hidalgo spoke."]))
        assert "Zyxwvut" not in strings  # two texts went through: the zone closed
    finally:
        ner_process.close_cached()
