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


def test_review_index_finds_each_task_and_keeps_the_last_of_a_source_task() -> None:
    from curate.studio.review import _ReviewIndex

    index = _ReviewIndex()
    for src, rid, vers in [(30, 300, (0, 1)), (10, 100, ()), (20, 200, (2,)), (10, 101, (1, 2))]:
        index.add(src, rid, vers)
    assert [index.get(s) for s in (10, 20, 30, 40)] == [101, 200, 300, None]
    assert index.versions(10) == {1, 2} and index.versions(30) == {0, 1}
    assert index.versions(20) == {2} and index.versions(40) == frozenset()
    assert _ReviewIndex().get(1) is None


class _Pages:
    """Label Studio's paged task list, as ``Connection.paged`` yields it."""

    def __init__(self, tasks: list[dict]) -> None:
        self.tasks = tasks

    def paged(self, path: str, params: dict, key: str, page_size: int = 1000):
        assert path == "/api/tasks" and params["project"] == 7
        yield from self.tasks


def test_check_predictions_names_what_label_studio_did_not_store() -> None:
    import pytest

    from curate.errors import StudioError
    from curate.studio.review import _check_predictions, _Expected, _Versions

    versions, expected = _Versions(), _Expected()
    for task in (5, 3, 4):
        expected.add(task, (versions.index(v) for v in ("agreed", "annotator-a")))

    def stored(task: int, *names: str) -> dict:
        return {"id": task, "predictions": [{"model_version": n} for n in names]}

    full = [stored(3, "agreed", "annotator-a"), stored(4, "annotator-a", "agreed", "x")]
    _check_predictions(_Pages([*full, stored(5, "agreed", "annotator-a")]), 7, expected, versions)
    with pytest.raises(StudioError, match="did not store 1 predictions \\(first on task 5\\)"):
        _check_predictions(_Pages([*full, stored(5, "agreed")]), 7, expected, versions)
    with pytest.raises(StudioError, match="did not store 2 predictions \\(first on task 5\\)"):
        _check_predictions(_Pages(full), 7, expected, versions)
