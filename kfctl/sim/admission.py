"""The admission chain seam: mutating then validating plugins on every write.

Handlers never know which plugins exist. Later issues plug admission webhooks
(and anything else) in here: a mutating plugin may return a changed object, a
validating plugin rejects by raising :class:`kfctl.sim.status.APIError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from kfctl.sim.types import ResourceType

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"


@dataclass(frozen=True)
class AdmissionRequest:
    """What a plugin sees. ``obj`` is the proposed object (None on DELETE), ``old`` the live one."""

    operation: str
    rtype: ResourceType
    namespace: str
    name: str
    obj: dict[str, Any] | None
    old: dict[str, Any] | None
    dry_run: bool = False
    subresource: str = ""
    user: str = "system:admin"


MutatingPlugin = Callable[[AdmissionRequest], "dict[str, Any] | None"]
ValidatingPlugin = Callable[[AdmissionRequest], None]


@dataclass
class AdmissionChain:
    """Ordered plugin lists; each is called for every create, update and delete."""

    mutating: list[MutatingPlugin] = field(default_factory=list)
    validating: list[ValidatingPlugin] = field(default_factory=list)

    def mutate(self, request: AdmissionRequest) -> dict[str, Any] | None:
        obj = request.obj
        for plugin in list(self.mutating):
            changed = plugin(AdmissionRequest(**{**request.__dict__, "obj": obj}))
            if changed is not None:
                obj = changed
        return obj

    def validate(self, request: AdmissionRequest) -> None:
        for plugin in list(self.validating):
            plugin(request)
