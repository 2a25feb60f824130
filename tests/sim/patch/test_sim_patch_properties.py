"""Seeded random sequences of applies, updates and patches: the invariants kfctl relies on.

* re-applying the configuration a manager just applied is a no-op (``result == live``),
* nothing but PatchError/ApplyConflictError ever escapes,
* every stored built-in object is already normalized.
"""

from __future__ import annotations

import copy
import random

from kfctl.sim.patch import (ApplyConflictError, PatchError, json_patch, merge_patch, normalize, server_side_apply,
                             strategic_merge_patch, update_managed_fields)


def random_deployment(rnd: random.Random) -> dict:
    container = {"name": rnd.choice(["a", "b"]), "image": rnd.choice(["i1", "i2"])}
    if rnd.random() < 0.5:
        container["env"] = [{"name": rnd.choice("ABC"), "value": rnd.choice("12")} for _ in range(rnd.randint(0, 3))]
    if rnd.random() < 0.3:
        container["ports"] = [{"containerPort": rnd.choice([80, 81]), **({"protocol": "UDP"} if rnd.random() < 0.3
                                                                         else {})} for _ in range(rnd.randint(0, 2))]
    if rnd.random() < 0.2:
        container["resources"] = {"limits": {k: "1" for k in rnd.sample(["cpu", "memory"], rnd.randint(0, 2))}}
    if rnd.random() < 0.2:
        container["args"] = [rnd.choice("xy") for _ in range(rnd.randint(0, 2))]
    containers = [container] + ([{"name": "z", "image": "q"}] if rnd.random() < 0.3 else [])
    spec: dict = {"template": {"spec": {"containers": containers}}}
    if rnd.random() < 0.5:
        spec["replicas"] = rnd.choice([1, 2, 3])
    if rnd.random() < 0.2:
        spec["strategy"] = rnd.choice([{}, {"type": "Recreate"}, {"rollingUpdate": {"maxSurge": 1}}])
    meta: dict = {"name": "d"}
    if rnd.random() < 0.5:
        meta["labels"] = {k: "v" for k in rnd.sample("abc", rnd.randint(0, 3))}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def test_random_sequences_keep_the_invariants():
    rnd = random.Random(20261128)
    applied = 0
    for _ in range(150):
        live = None
        for step in range(4):
            config = random_deployment(rnd)
            manager = rnd.choice(["m1", "m2", "m3"])
            try:
                new = server_side_apply(live, config, manager=manager, force=rnd.random() < 0.5,
                                        api_version="apps/v1", now=f"T{step}")
            except (ApplyConflictError, PatchError):  # conflicts, and duplicate keys the generator can make
                continue
            applied += 1
            assert normalize(new, api_version="apps/v1", kind="Deployment") == new
            again = server_side_apply(new, config, manager=manager, force=False, api_version="apps/v1", now="TX")
            assert again == new, config
            edited = copy.deepcopy(new)
            edited["spec"]["replicas"] = 9
            edited["metadata"]["managedFields"] = update_managed_fields(new, edited, manager="u",
                                                                        api_version="apps/v1", now="TU")
            live = edited if rnd.random() < 0.5 else new
            for attempt in (
                lambda: strategic_merge_patch(live, {"spec": {"template": {"spec": {"containers": [
                    {"name": rnd.choice("abz"), "$patch": rnd.choice(["delete", "replace", "bogus"])}]}}}},
                    group="apps", version="v1", kind="Deployment"),
                lambda: merge_patch(live, {"spec": {"replicas": None}}),
                lambda: json_patch(live, [{"op": rnd.choice(["remove", "test", "replace"]),
                                           "path": rnd.choice(["/spec/replicas", "/nope/x"]), "value": 1}]),
            ):
                try:
                    assert isinstance(attempt(), dict)
                except PatchError:
                    pass
    assert applied > 300
