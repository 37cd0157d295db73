"""`curate export`, `curate diff`, `curate verify` and publishing to the Hub (offline)."""

import json
import os
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import DatasetError
from curate.gold import load_documents, prepare_push, push_to_hub, release, verify
from curate.model import Annotation, Document, Entity

T = "Dmitry Peskov spoke in Vladivostok on Tuesday."


def gold_line(i: int, label: str = "PERSON") -> str:
    d = Document(
        id=f"a{i}",
        text=T,
        entities=(Entity.of(T, 0, 13, label), Entity.of(T, 23, 34, "GPE")),
        provenance=Annotation(("x@example.org",), (i * 10,), task_id=i),
    )
    return json.dumps(d.to_dict())


def write_gold(folder, lines, report=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if report is not None:
        (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder / "gold.jsonl"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_export_writes_a_version_and_reports_bad_records_by_line(tmp_path):
    pull = tmp_path / "pulls" / "seed-news" / "20260102T030405"
    gold = write_gold(
        pull,
        [gold_line(1), "{broken", gold_line(2, label="MONEY"), gold_line(1), gold_line(3)],
        report={"agreement": {"entity_f1": 0.75}},
    )
    root = tmp_path / "gold"
    res = run("export", gold, "--name", "seed", "--root", root, "--all-test")
    assert res.exit_code == 1, res.output  # released, but records were left out
    assert "wrote seed 1.0.0 (first version)" in res.output
    assert f"{gold}:2: invalid JSON" in res.output
    assert f"{gold}:3: article 'a2' uses entity label(s) MONEY" in res.output
    assert f"{gold}:4: article 'a1' again (first at line 1)" in res.output
    assert "3 records left out" in res.output
    card = (root / "seed" / "1.0.0" / "README.md").read_text(encoding="utf-8")
    assert "source project: seed-news" in card and "20260102T030405" in card
    assert "| entity_f1 | 0.75 |" in card
    res = run("export", gold, "--name", "strict", "--root", root, "--strict")
    assert res.exit_code == 1 and "--strict; nothing written" in res.output
    assert not (root / "strict").exists()


def test_export_diff_verify_round_trip_and_refusals(tmp_path):
    root = tmp_path / "gold"
    g1 = write_gold(tmp_path / "p1", [gold_line(i) for i in range(1, 5)])
    assert run("export", g1, "--name", "n", "--root", root, "--formats", "hf,jsonl").exit_code == 0
    again = run("export", g1, "--name", "n", "--root", root, "--version", "1.0.0")
    assert again.exit_code == 1 and "already exists and versions never change" in again.output
    # The same gold again (a scheduled pull, say): said, exit 0, no version written.
    same = run("export", g1, "--name", "n", "--root", root)
    assert same.exit_code == 0, same.output
    assert "nothing changed since version 1.0.0; no new version written" in same.output
    assert sorted(p.name for p in (root / "n").iterdir()) == ["1.0.0"]
    g2 = write_gold(tmp_path / "p2", [gold_line(1, "ORG")] + [gold_line(i) for i in range(2, 6)])
    res = run("export", g2, "--name", "n", "--root", root, "--formats", "hf")
    assert res.exit_code == 0 and "wrote n 1.1.0 (minor bump from 1.0.0)" in res.output
    res = run("diff", "n@1.0.0", "n", "--root", root)
    assert res.exit_code == 0, res.output
    assert "1 added, 0 removed, 1 changed, 3 unchanged" in res.output
    assert "~ PERSON -> ORG 0:13 'Dmitry Peskov'" in res.output
    as_json = json.loads(
        run("diff", root / "n" / "1.0.0", "n@1.1.0", "--root", root, "--json").output
    )
    assert as_json["added"] == ["a5"] and list(as_json["changed"]) == ["a1"]
    res = run("verify", "n@1.0.0", "n", "--root", root)
    assert res.exit_code == 0 and res.output.count("files match the manifest") == 2
    # evaluate takes --root as the other commands do (it had none: -g NAME was not found)
    for spec in ("n", "n@1.0.0"):
        res = run("evaluate", "curate.entities.v1", "-g", spec, "--root", root, "--bootstrap", "0")
        said = " ".join(res.output.split())
        assert res.exit_code == 0 and "n 1." in said, said
    card = root / "n" / "1.1.0" / "README.md"
    os.chmod(card, 0o644)
    card.write_text(card.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    res = run("verify", "n", "--root", root)
    assert res.exit_code == 1 and "README.md: sha256 differs" in res.output
    # A change to an older version: the name checks the latest only, --all-versions all.
    old_card = root / "n" / "1.0.0" / "README.md"
    os.chmod(old_card, 0o644)
    old_card.write_text("edited\n", encoding="utf-8")
    res = run("verify", "n", "--root", root, "--all-versions")
    assert res.exit_code == 1 and res.output.count("README.md: sha256 differs") == 2, res.output
    assert "1.0.0/README.md" in res.output and "1.1.0/README.md" in res.output
    res = run("diff", "n@9.9.9", "n", "--root", root)
    assert res.exit_code == 1 and "no version 9.9.9 (have: 1.0.0, 1.1.0)" in res.output


def test_push_to_hub_is_prepared_then_fails_cleanly_offline(tmp_path):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    gold = write_gold(tmp_path / "p", [gold_line(1), gold_line(2)])
    root = tmp_path / "gold"
    res = run("export", gold, "--name", "n", "--root", root, "--push-to-hub", "someone/news-gold")
    assert res.exit_code == 1
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in res.output
    assert "Nothing was uploaded to someone/news-gold" in res.output
    path = root / "n" / "1.0.0"
    assert verify(path).ok  # the version itself was written and is intact
    payload = prepare_push(path, "someone/news-gold")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert payload.tag == "1.0.0" and payload.repo_id == "someone/news-gold" and payload.private
    assert set(payload.files) == set(manifest["files"]) | {"manifest.json"}
    assert "README.md" in payload.files and "CHANGELOG.md" in payload.files
    assert any(f.startswith("data/") and f.endswith(".parquet") for f in payload.files)
    assert payload.commit_message == "curate: n 1.0.0"
    with pytest.raises(DatasetError, match="not a Hub repo id"):
        prepare_push(path, "no spaces allowed/x")
    res = run("export", gold, "--name", "other", "--root", root, "--push-to-hub", "bad repo")
    assert res.exit_code == 1 and "not a Hub repo id" in res.output
    assert not (root / "other").exists()  # checked before anything is written
    with pytest.raises(DatasetError, match="offline mode"):
        push_to_hub(path, "someone/news-gold", token="hf_" + "x" * 34)


def test_push_refuses_a_version_that_carries_a_token_or_was_changed(tmp_path):
    token = "hf_" + "A1b2C3d4" * 5
    doc = Document.from_dict(json.loads(gold_line(1)))
    r = release([doc], root=tmp_path, name="n", meta={"description": f"made with {token}"})
    with pytest.raises(DatasetError, match="contains an access token"):
        prepare_push(r.path, "someone/x")
    r2 = release([doc.with_(id="a2")], root=tmp_path, name="m")
    os.chmod(r2.path / "CHANGELOG.md", 0o644)
    (r2.path / "CHANGELOG.md").write_text("rewritten", encoding="utf-8")
    with pytest.raises(DatasetError, match="refusing to publish"):
        prepare_push(r2.path, "someone/x")


def test_push_refuses_real_identities_unless_asked(tmp_path):
    doc = Document.from_dict(json.loads(gold_line(1)))
    doc = doc.with_(provenance=replace(doc.provenance, annotators=("jane@news.example",)))
    real = release([doc], root=tmp_path, name="r", real_identities=True)
    with pytest.raises(DatasetError, match="real identities"):
        prepare_push(real.path, "someone/x")
    assert prepare_push(real.path, "someone/x", real_identities=True).tag == "1.0.0"
    pseudo = release([doc], root=tmp_path, name="p")
    assert prepare_push(pseudo.path, "someone/x").tag == "1.0.0"
    # A version from before pseudonyms says nothing: its rows are looked at.
    manifest = json.loads((real.path / "manifest.json").read_text(encoding="utf-8"))
    del manifest["identities"]
    os.chmod(real.path / "manifest.json", 0o644)
    (real.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DatasetError, match="real identities"):
        prepare_push(real.path, "someone/x")


def test_export_flag_real_identities(tmp_path):
    gold = write_gold(tmp_path / "p", [gold_line(1), gold_line(2)])
    root = tmp_path / "gold"
    first = run("export", gold, "--name", "n", "--root", root)
    second = run("export", gold, "--name", "r", "--root", root, "--real-identities")
    assert first.exit_code == second.exit_code == 0
    modes = {
        name: json.loads((root / name / "1.0.0" / "manifest.json").read_text())["identities"]
        for name in ("n", "r")
    }
    assert (modes["n"]["mode"], modes["r"]["mode"]) == ("pseudonymous", "real")
    assert "stable pseudonyms" in first.output and "real identities" in second.output


def test_export_of_nothing_says_why_and_leaves_no_folder(tmp_path):
    gold = write_gold(tmp_path / "pull", ["{broken"])
    root = tmp_path / "gold"
    res = run("export", gold, "--name", "none", "--root", root)
    assert res.exit_code == 1
    assert f"no gold documents to release: every record of {gold} was left out" in res.output
    assert not (root / "none").exists()


def test_export_agreement_counts_stay_counts_in_the_card(tmp_path):
    gold = write_gold(tmp_path / "pull", [gold_line(1), gold_line(2)])
    figures = tmp_path / "agr.json"
    figures.write_text(json.dumps({"annotators": 2, "entity_f1": 0.75}), encoding="utf-8")
    root = tmp_path / "gold"
    res = run("export", gold, "--name", "c", "--root", root, "--agreement", figures)
    assert res.exit_code == 0, res.output
    card = (root / "c" / "1.0.0" / "README.md").read_text(encoding="utf-8")
    assert "| annotators | 2 |" in card, card
    mapping = json.loads((root / ".annotators.json").read_text(encoding="utf-8"))
    assert set(mapping["pseudonyms"].values()) == {"x@example.org"}


def test_predictions_never_become_gold(tmp_path):
    """`curate preannotate` output given to export: each record is a model's suggestion,
    left out and named; with nothing left, nothing is released."""
    from curate.model import Prediction

    def predicted(i: int) -> str:
        doc = Document.from_dict(json.loads(gold_line(i)))
        return json.dumps(doc.with_(provenance=Prediction("m-1+curate.quotes.v6")).to_dict())

    gold = write_gold(tmp_path / "pull", [predicted(1), gold_line(2)])
    root = tmp_path / "gold"
    res = run("export", gold, "--name", "mixed", "--root", root, "--all-test")
    assert res.exit_code == 1, res.output
    said = " ".join(res.output.split())
    assert f"{gold}:1: a prediction of m-1+curate.quotes.v6, not a person's annotation" in said
    assert "left out; left out" not in said and said.count("left out") == 2
    assert [d.id for d in load_documents(root / "mixed" / "1.0.0")] == ["a2"]
    only = write_gold(tmp_path / "preds", [predicted(1)])
    res = run("export", only, "--name", "preds", "--root", root, "--all-test")
    assert res.exit_code == 1 and "no gold documents to release" in res.output
    assert not (root / "preds").exists()


def test_a_folder_that_is_no_gold_says_what_to_pass(tmp_path):
    """`evaluate -g OUT.d` (or any folder without version folders) said only "no complete
    version in this folder"."""
    folder = tmp_path / "out.d"
    folder.mkdir()
    (folder / "part-00000.jsonl").write_text("", encoding="utf-8")
    res = run("evaluate", "curate.quotes.v6", "-g", folder)
    said = " ".join(res.output.split())
    assert res.exit_code == 1 and "holds version folders such as 1.0.0" in said, said
    assert "pass a dataset name, NAME@X.Y.Z or a version folder" in said
