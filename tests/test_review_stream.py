"""A pull's conflicts paired with their annotations, streamed (curate.studio.review)."""

from __future__ import annotations

import json
from pathlib import Path

from curate.model import Annotation, Document
from curate.studio.review import iter_conflicts


def _write_pull(folder: Path, tasks: list[int], conflict_order: list[int]) -> None:
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps({"project": {"id": 1}}))
    with (folder / "annotations.jsonl").open("w") as fh:
        for tid in tasks:
            for k in (1, 2):
                doc = Document(
                    f"t{tid}",
                    f"text of task {tid}",
                    provenance=Annotation(
                        annotators=(f"a{k}",), annotation_ids=(tid * 10 + k,), task_id=tid
                    ),
                )
                fh.write(json.dumps(doc.to_dict()) + "\n")
    with (folder / "conflicts.jsonl").open("w") as fh:
        for tid in conflict_order:
            anns = [{"id": tid * 10 + k, "annotator": f"a{k}"} for k in (1, 2)]
            fh.write(json.dumps({"task_id": tid, "annotations": anns}) + "\n")


def test_conflicts_meet_their_annotations_in_one_pass(tmp_path: Path) -> None:
    _write_pull(tmp_path / "p", tasks=[1, 2, 3, 4, 5], conflict_order=[2, 5])
    got = [(c["task_id"], sorted(found)) for c, found in iter_conflicts(tmp_path / "p")]
    assert got == [(2, [21, 22]), (5, [51, 52])]


def test_out_of_order_or_missing_annotations_are_still_found_or_absent(tmp_path: Path) -> None:
    _write_pull(tmp_path / "p", tasks=[1, 2, 3], conflict_order=[3, 1, 9, 2])
    got = {c["task_id"]: found for c, found in iter_conflicts(tmp_path / "p")}
    assert sorted(got[1]) == [11, 12] and sorted(got[2]) == [21, 22]
    assert sorted(got[3]) == [31, 32] and got[9] == {}
    assert got[2][21].provenance.annotation_ids == (21,)
