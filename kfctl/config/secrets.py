"""Secret values of a KfDef, read when they are needed (``kfctl apply``), never before.

Decision: ``kfctl validate`` only *warns* when an ``envSource`` variable is
unset (the file is still valid; CI may validate without credentials), while
:func:`secret_values` - what apply calls - makes a missing variable an error
naming the secret, the variable and the line that asks for it (an empty variable too:
a forgotten ``export X=`` must not deploy an empty password).

Where the values go: parameters that say ``valueFrom: {secret: NAME}`` get them at
render time (:mod:`kfctl.render.secretref`), so they reach the cluster only inside
the Secrets the components render, and never ``kfctl generate``'s files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

from kfctl.config.model import KfDef
from kfctl.errors import ConfigError, Problem


def secret_values(kfdef: KfDef, environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Secret name -> value, from literals and the environment; every missing variable is reported."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for secret in kfdef.secrets:
        if secret.literal is not None:
            values[secret.name] = secret.literal
        elif secret.env is not None:
            if env.get(secret.env):
                values[secret.name] = env[secret.env]
            elif secret.env in env:
                where = secret.env_at or secret.location
                problems.append(where.problem(
                    f"secret {secret.name!r} reads environment variable {secret.env}, which is empty",
                    hint=f"export {secret.env}=... with the secret's value before running kfctl"))
            else:
                where = secret.env_at or secret.location
                problems.append(where.problem(
                    f"secret {secret.name!r} reads environment variable {secret.env}, which is not set",
                    hint=f"export {secret.env}=... before running kfctl"))
    if problems:
        raise ConfigError(problems)
    return MappingProxyType(values)
