"""Pydantic models of what Label Studio 1.23 sends to an ML backend (``ml/api_connector.py``).

Unknown fields are allowed (Label Studio adds some between versions) and kept out of
the way; the access token of ``/setup`` is never echoed, logged or stored on disk.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class PredictParams(_Wire):
    context: dict[str, Any] | None = None


class PredictRequest(_Wire):
    """``POST /predict``: a batch of tasks; ``params.context`` marks an interactive request."""

    tasks: list[dict[str, Any]] = Field(default_factory=list)
    project: str | None = None
    label_config: str | None = None
    params: PredictParams = Field(default_factory=PredictParams)


class SetupRequest(_Wire):
    """``POST /setup``: the project (``"<id>.<created timestamp>"``) and where LS is."""

    project: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    hostname: str | None = None
    access_token: str | None = Field(default=None, repr=False)
    extra_params: dict[str, Any] | None = None

    def project_id(self) -> int | None:
        return project_id(self.project)


class WebhookEvent(_Wire):
    """``POST /webhook``: a Label Studio webhook (``action`` plus the objects it is about)."""

    action: str = ""
    project: dict[str, Any] | None = None
    annotation: dict[str, Any] | None = None
    task: dict[str, Any] | None = None


class TrainRequest(_Wire):
    """``POST /train`` (Label Studio's older training call): the project and its tasks."""

    project: str | None = None
    annotations: list[dict[str, Any]] = Field(default_factory=list)


def project_id(project: Any) -> int | None:
    """The project id in ``"12.1700000000"``, ``12`` or ``{"id": 12}``; None if absent."""
    if isinstance(project, dict):
        project = project.get("id")
    if isinstance(project, int):
        return project
    if isinstance(project, str) and project.split(".", 1)[0].isdigit():
        return int(project.split(".", 1)[0])
    return None
