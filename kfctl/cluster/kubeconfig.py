"""Reading kubeconfig files as kubectl does, and checking the credentials they name, before any request.

The official client's loader alone is not enough for a tool that must fail
clearly and fast: it merges a ``$KUBECONFIG`` path list unlike kubectl (the
last file's ``current-context`` wins), it turns a file that is
not YAML into an internal error, it ignores a missing client certificate
when the server URL is ``http``, it logs a failing exec credential plugin and
carries on unauthenticated, and it waits forever for a plugin that hangs.

This module owns those decisions: :func:`load` finds and merges the files
(kubectl's rules: missing files in ``$KUBECONFIG`` are skipped, the first file
to set a value wins, relative paths are relative to the file that names
them), selects the context, checks every file and PEM block the context
names, and returns a :class:`KubeConfig` whose :meth:`KubeConfig.apply_to`
fills a client ``Configuration``. Exec plugins run with a timeout
(``$KFCTL_EXEC_TIMEOUT`` seconds; default 30, or 120 when stdin is a terminal
and the plugin may ask the person to log in), and their failure is a
:class:`CredentialsError` naming the command. Every problem is an exit-2
error naming the file and what to do.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.dateutil import parse_rfc3339
from kubernetes.config.kube_config import ConfigNode, KubeConfigLoader

from kfctl.cluster.errors import CredentialsError
from kfctl.errors import ClusterConfigError

DEFAULT_LOCATION = "~/.kube/config"
EXEC_TIMEOUT_ENV = "KFCTL_EXEC_TIMEOUT"
DEFAULT_EXEC_TIMEOUT = 30.0
INTERACTIVE_EXEC_TIMEOUT = 120.0

NO_CLUSTER_HINT = (
    "point kfctl at a cluster with --kubeconfig PATH (or $KUBECONFIG) and optionally --context NAME; "
    "to rehearse offline, start a simulated cluster with `kfctl sim serve --kubeconfig sim.kubeconfig` "
    "and pass --kubeconfig sim.kubeconfig"
)


def exec_timeout(interactive: bool = False) -> float:
    """Seconds an exec plugin may take: ``$KFCTL_EXEC_TIMEOUT``, else 30 (120 when a person may have to log in)."""
    default = INTERACTIVE_EXEC_TIMEOUT if interactive else DEFAULT_EXEC_TIMEOUT
    raw = os.environ.get(EXEC_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ClusterConfigError(f"${EXEC_TIMEOUT_ENV}={raw!r} is not a number of seconds",
                                 hint=f"unset it, or set e.g. {EXEC_TIMEOUT_ENV}=60") from None
    return value if value > 0 else default


def kubeconfig_paths(explicit: str | None, environ: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The files to read and where they came from (for messages).

    ``--kubeconfig`` names one file, which must exist. ``$KUBECONFIG`` is a
    list (``:``-separated on POSIX) whose missing files are skipped, as kubectl
    does; at least one must exist. Without either, ``~/.kube/config``.
    """
    env = os.environ if environ is None else environ
    if explicit:
        path = os.path.expanduser(explicit)
        if not os.path.exists(path):
            raise ClusterConfigError(f"kubeconfig {explicit} does not exist", hint=NO_CLUSTER_HINT)
        return [path], f"--kubeconfig {explicit}"
    listed = env.get("KUBECONFIG", "")
    if listed:
        entries = [os.path.expanduser(p) for p in listed.split(os.pathsep) if p]
        found = [p for p in entries if os.path.exists(p)]
        if not found:
            raise ClusterConfigError(f"none of the files in $KUBECONFIG exists: {listed}", hint=NO_CLUSTER_HINT)
        return found, "$KUBECONFIG"
    path = os.path.expanduser(DEFAULT_LOCATION)
    if not os.path.exists(path):
        raise ClusterConfigError("no cluster configured: no --kubeconfig, no $KUBECONFIG and no ~/.kube/config",
                                 hint=NO_CLUSTER_HINT)
    return [path], DEFAULT_LOCATION


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClusterConfigError(f"cannot read kubeconfig {path}: {reason}", hint=NO_CLUSTER_HINT) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ClusterConfigError(f"{where}: kubeconfig is not valid YAML: {problem}",
                                 hint="fix the file, or point --kubeconfig at another one") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ClusterConfigError(f"{path}: a kubeconfig must be a mapping (apiVersion, kind: Config, clusters, "
                                 f"contexts, users), not a {type(data).__name__}",
                                 hint="is this the right file? `kubectl config view` shows a valid one")
    for key in ("clusters", "contexts", "users"):
        entries = data.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                                    for e in entries):
            raise ClusterConfigError(f"{path}: {key} must be a list of entries, each with a name",
                                     hint="`kubectl config view` shows the expected shape")
    return data


def merge(paths: list[str]) -> ConfigNode:
    """kubectl's merge: the first file to set current-context or an entry of a given name wins."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []}
    for path in paths:
        data = _read(path)
        if data.get("current-context") and "current-context" not in merged:
            merged["current-context"] = data["current-context"]
        for key in ("clusters", "contexts", "users"):
            known = {e.value["name"] for e in merged[key]}
            for entry in data.get(key) or ():
                if entry["name"] not in known:
                    known.add(entry["name"])
                    merged[key].append(ConfigNode(f"{path}/{key}[name={entry['name']}]", entry, path))
    return ConfigNode(paths[0], merged, paths[0])


def _section(node: ConfigNode, key: str, name: str) -> tuple[dict[str, Any], str]:
    for entry in node.value[key]:
        if entry.value["name"] == name:
            body = entry.value.get(key[:-1]) or {}
            return (body if isinstance(body, dict) else {}), entry.path
    return {}, ""


def _resolve(base_file: str, value: str) -> str:
    path = os.path.expanduser(str(value))
    return path if os.path.isabs(path) else os.path.join(os.path.dirname(os.path.abspath(base_file)), path)


def _pem(what: str, source: str, *, data: str | None, file: str | None, where: str) -> bytes | None:
    """The bytes of a certificate/key given as ``*-data`` (base64) or a file; a clear error if unusable."""
    if data is not None:
        try:
            return base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise CredentialsError(f"{what} of {source} in {where} is not base64",
                                   hint="write the PEM file base64-encoded on one line "
                                        "(`base64 -w0 FILE`), or name the file instead") from None
    if file is not None:
        try:
            with open(file, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise CredentialsError(f"{what} file {file} of {source} in {where} cannot be read: "
                                   f"{exc.strerror or exc}",
                                   hint="fix the path in the kubeconfig (relative paths are relative to the "
                                        "kubeconfig file), or fetch the credentials again") from None
    return None


@dataclass
class KubeConfig:
    """The merged kubeconfig and the selected context, checked."""

    paths: list[str]
    source: str
    config: ConfigNode
    context: str
    cluster_name: str
    user_name: str
    server: str
    cluster: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    user_file: str = ""
    cluster_file: str = ""

    def describe(self) -> str:
        return f"context {self.context!r} of {', '.join(self.paths)}"

    def check(self) -> None:
        """Every file and PEM block the context names exists and parses; CAs load into a TLS context."""
        where = self.describe()
        cluster_src = f"cluster {self.cluster_name!r}"
        ca = _pem("certificate-authority", cluster_src, where=where,
                  data=self.cluster.get("certificate-authority-data"),
                  file=_resolve(self.cluster_file, self.cluster["certificate-authority"])
                  if self.cluster.get("certificate-authority") else None)
        if ca is not None:
            try:
                ssl.create_default_context(cadata=ca.decode("ascii", "replace"))
            except (ssl.SSLError, ValueError) as exc:
                raise CredentialsError(
                    f"the certificate-authority of {cluster_src} in {where} is not a PEM certificate ({exc})",
                    hint="set certificate-authority-data to the cluster's CA certificate, base64-encoded "
                         "(your cluster provider's `get-credentials` command writes it)") from None
        user_src = f"user {self.user_name!r}"
        cert_file = _resolve(self.user_file, self.user["client-certificate"]) \
            if self.user.get("client-certificate") else None
        key_file = _resolve(self.user_file, self.user["client-key"]) if self.user.get("client-key") else None
        cert = _pem("client-certificate", user_src, where=where, data=self.user.get("client-certificate-data"),
                    file=cert_file)
        key = _pem("client-key", user_src, where=where, data=self.user.get("client-key-data"), file=key_file)
        if (cert is None) != (key is None):
            missing = "client-key" if key is None else "client-certificate"
            raise CredentialsError(f"{user_src} in {where} has a client certificate or key without the other "
                                   f"({missing} is missing)", hint="give both, or neither")
        for what, blob in (("client-certificate", cert), ("client-key", key)):
            if blob is not None and b"-----BEGIN" not in blob:
                raise CredentialsError(f"the {what} of {user_src} in {where} is not PEM",
                                       hint="fetch the credentials again (a PEM block starts with -----BEGIN)")
        token_file = self.user.get("tokenFile")
        if token_file:
            _pem("tokenFile", user_src, where=where, data=None, file=_resolve(self.user_file, token_file))
        exec_cfg = self.user.get("exec")
        if exec_cfg is not None and (not isinstance(exec_cfg, dict) or not exec_cfg.get("command")):
            raise CredentialsError(f"the exec section of {user_src} in {where} has no command",
                                   hint="give exec.command (and apiVersion), as your cluster provider documents")

    def apply_to(self, configuration: Any) -> None:
        """Fill a client Configuration (host, TLS, credentials); exec plugins run here, with a timeout."""
        loader = _Loader(config_dict=self.config, active_context=self.context, config_base_path=None,
                         kubeconfig=self)
        try:
            loader.load_and_set(configuration)
        except ConfigException as exc:
            raise ClusterConfigError(f"cannot use {self.describe()}: {exc}", hint=NO_CLUSTER_HINT) from None


def load(explicit: str | None, context: str | None, environ: dict[str, str] | None = None) -> KubeConfig:
    """Find, merge and check the kubeconfig; select ``context`` (default: the current one)."""
    paths, source = kubeconfig_paths(explicit, environ)
    config = merge(paths)
    shown = ", ".join(paths)
    contexts = [e.value["name"] for e in config.value["contexts"]]
    name = context or config.value.get("current-context")
    if not name:
        raise ClusterConfigError(f"no current-context in {shown} and no --context given",
                                 hint=f"pass --context NAME (contexts: {', '.join(contexts) or 'none'})")
    if name not in contexts:
        raise ClusterConfigError(f"context {name!r} not found in {shown}",
                                 hint=f"contexts in {shown}: {', '.join(contexts)}" if contexts else NO_CLUSTER_HINT)
    ctx, _ = _section(config, "contexts", name)
    cluster_name = str(ctx.get("cluster") or "")
    user_name = str(ctx.get("user") or "")
    cluster, cluster_file = _section(config, "clusters", cluster_name)
    if not cluster_file:
        raise ClusterConfigError(f"context {name!r} names cluster {cluster_name!r}, which is not in {shown}",
                                 hint="fix the context, or add the cluster entry")
    if not cluster.get("server"):
        raise ClusterConfigError(f"cluster {cluster_name!r} in {shown} has no server URL",
                                 hint="set clusters[].cluster.server to the API server's https:// URL")
    user: dict[str, Any] = {}
    user_file = ""
    if user_name:
        user, user_file = _section(config, "users", user_name)
        if not user_file:
            raise ClusterConfigError(f"context {name!r} names user {user_name!r}, which is not in {shown}",
                                     hint="fix the context, or add the user entry")
    kc = KubeConfig(paths=paths, source=source, config=config, context=name, cluster_name=cluster_name,
                    user_name=user_name, server=str(cluster["server"]).rstrip("/"), cluster=cluster, user=user,
                    user_file=user_file, cluster_file=cluster_file)
    kc.check()
    return kc


def run_exec_plugin(exec_cfg: dict[str, Any], *, user: str, where: str, cluster: dict[str, Any] | None,
                    cwd: str | None, timeout: float | None = None) -> dict[str, Any]:
    """Run a client-go exec credential plugin; its ExecCredential status, or a CredentialsError naming it."""
    interactive = sys.stdin.isatty() and exec_cfg.get("interactiveMode") != "Never"
    limit = exec_timeout(interactive) if timeout is None else timeout
    command = str(exec_cfg.get("command"))
    args = [command, *(str(a) for a in exec_cfg.get("args") or ())]
    shown = " ".join(args)
    api_version = str(exec_cfg.get("apiVersion") or "client.authentication.k8s.io/v1")
    env = os.environ.copy()
    for item in exec_cfg.get("env") or ():
        if isinstance(item, dict) and "name" in item:
            env[str(item["name"])] = str(item.get("value", ""))
    info: dict[str, Any] = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": interactive}}
    if exec_cfg.get("provideClusterInfo") and cluster is not None:
        info["spec"]["cluster"] = dict(cluster)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    hint_install = exec_cfg.get("installHint")
    try:
        # an interactive plugin talks to the person on stdin/stderr (a login URL, a code); only stdout is ours
        proc = subprocess.run(args, stdin=None if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=None if interactive else subprocess.PIPE, text=True, env=env, cwd=cwd or None,
                              timeout=limit, check=False)
    except FileNotFoundError:
        raise CredentialsError(f"the credential plugin {command!r} of user {user!r} ({where}) is not installed "
                               f"or not on PATH",
                               hint=str(hint_install).strip() if hint_install else
                               "install it (your cluster provider documents which), or use another context") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"the credential plugin `{shown}` of user {user!r} ({where}) did not answer "
                               f"within {limit:g}s",
                               hint=f"run it by hand to see what it waits for (a login?); raise the limit with "
                                    f"{EXEC_TIMEOUT_ENV}=SECONDS") from None
    except OSError as exc:
        raise CredentialsError(f"the credential plugin `{shown}` of user {user!r} ({where}) cannot run: "
                               f"{exc.strerror or exc}", hint="check the exec.command of the kubeconfig") from None
    if proc.returncode != 0:
        stderr = " ".join((proc.stderr or "").split())[:400]
        raise CredentialsError(f"the credential plugin `{shown}` of user {user!r} ({where}) failed with exit code "
                               f"{proc.returncode}" + (f": {stderr}" if stderr else ""),
                               hint="run it by hand and fix what it reports (often: log in again)")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise CredentialsError(f"the credential plugin `{shown}` of user {user!r} ({where}) printed no "
                               f"ExecCredential JSON", hint="run it by hand; it must print an ExecCredential") from None
    status = data.get("status") if isinstance(data, dict) else None
    if not isinstance(status, dict) or not (status.get("token") or
                                           (status.get("clientCertificateData") and status.get("clientKeyData"))):
        raise CredentialsError(f"the credential plugin `{shown}` of user {user!r} ({where}) returned neither a token "
                               f"nor a client certificate and key", hint="run it by hand and check its output")
    return status


class _Loader(KubeConfigLoader):
    """The official loader, with exec plugins run by :func:`run_exec_plugin` (timeout, errors raised)."""

    def __init__(self, *args: Any, kubeconfig: KubeConfig, **kwargs: Any) -> None:
        # the client's __init__ is unannotated (unused-ignore: a later client release may annotate it)
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call,unused-ignore]
        self._kfctl = kubeconfig

    def _load_from_exec_plugin(self) -> bool | None:
        user = self._user
        if user is None or "exec" not in user:
            return None
        kc = self._kfctl
        base = os.path.dirname(os.path.abspath(kc.user_file)) if kc.user_file else None
        status = run_exec_plugin(dict(user["exec"].value), user=kc.user_name, where=kc.describe(),
                                 cluster=kc.cluster, cwd=base)
        if status.get("token"):
            self.token = f"Bearer {status['token']}"
        else:
            import tempfile

            for attr, key in (("cert_file", "clientCertificateData"), ("key_file", "clientKeyData")):
                fd, name = tempfile.mkstemp(prefix="kfctl-exec-", suffix=".pem")
                with os.fdopen(fd, "w") as fh:
                    fh.write(status[key])
                setattr(self, attr, name)
        if status.get("expirationTimestamp"):
            self.expiry = parse_rfc3339(status["expirationTimestamp"])
        return True


__all__ = ["CredentialsError", "KubeConfig", "exec_timeout", "kubeconfig_paths", "load", "merge", "run_exec_plugin"]
