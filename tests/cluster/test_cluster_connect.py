"""Connection, TLS and credential problems: exit 2 in seconds, with a message naming the server and what to do.

Loopback servers play the broken clusters: an HTTPS server whose certificate the kubeconfig does not trust,
one with an expired certificate (TLS fixtures in ``data/tls``, see its README), a plain HTTP server
answering HTML, and, as the positive control, an HTTPS server trusted through the kubeconfig's CA that
answers ``/version`` like an API server.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import ssl
import sys
import threading
import time
from pathlib import Path

import pytest

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.cluster.errors import ClusterTLSError, CredentialsError, NotKubernetes
from kfctl.cluster.kubeconfig import kubeconfig_paths, load
from kfctl.errors import ClusterConfigError

TLS = Path(__file__).parent / "data" / "tls"
VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.2", "platform": "linux/amd64"}


class _Handler(http.server.BaseHTTPRequestHandler):
    html = False
    seen_auth: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen_auth.append(self.headers.get("Authorization", ""))
        if self.html:
            body, ctype = b"<html><head><title>Welcome to nginx!</title></head><body>" + b"x" * 5000 + \
                b"</body></html>", "text/html"
        else:
            body, ctype = json.dumps(VERSION).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(*, cert: str | None = None, html: bool = False) -> str:
        handler = type("H", (_Handler,), {"html": html, "seen_auth": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        scheme = "http"
        if cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(TLS / cert), str(TLS / "server.key"))
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        start.handler = handler  # type: ignore[attr-defined]
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def kubeconfig(path: Path, server: str, *, cluster: dict | None = None, user: dict | None = None,
               name: str = "ctx", current: bool = True) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": f"{name}-cluster", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": f"{name}-user", "user": user or {"token": "t0ken"}}],
        "contexts": [{"name": name, "context": {"cluster": f"{name}-cluster", "user": f"{name}-user"}}],
    }
    if current:
        doc["current-context"] = name
    path.write_text(json.dumps(doc))
    return path


def ca_data() -> str:
    return base64.b64encode((TLS / "ca.crt").read_bytes()).decode()


def run_status(runner, path: Path | str):
    start = time.monotonic()
    result = runner.invoke(cli, ["--kubeconfig", str(path), "status", "--name", "demo"])
    return result, time.monotonic() - start


def test_trusted_https_server_connects(tmp_path, serve):
    """The positive control: the same fixtures with the right CA work, so the failures below are real."""
    url = serve(cert="server.crt")
    cluster = connect(str(kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": ca_data()})), None)
    cluster.close()


def test_unknown_ca_is_exit_2_fast_with_advice(runner, tmp_path, serve):
    url = serve(cert="server.crt")
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url))
    assert result.exit_code == 2, result.output
    assert took < 5
    assert f"cannot verify the TLS certificate of the API server at {url}" in result.output
    assert "certificate-authority-data of cluster 'ctx-cluster'" in result.output
    assert "Traceback" not in result.output and "File \"" not in result.output


def test_expired_certificate_is_named(runner, tmp_path, serve):
    url = serve(cert="expired.crt")
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": ca_data()}))
    assert result.exit_code == 2, result.output
    assert took < 5
    assert f"the API server at {url} presents an expired TLS certificate" in result.output
    assert "renew" in result.output


def test_garbage_ca_data_is_refused_before_connecting(runner, tmp_path, serve):
    url = serve(cert="server.crt")
    garbage = base64.b64encode(b"this is not a certificate").decode()
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": garbage}))
    assert result.exit_code == 2 and took < 5, result.output
    assert "certificate-authority of cluster 'ctx-cluster'" in result.output and "not a PEM certificate" in result.output
    assert serve.handler.seen_auth == []  # nothing was sent
    not_b64 = run_status(runner, kubeconfig(tmp_path / "kc2", url, cluster={"certificate-authority-data": "%%%"}))[0]
    assert not_b64.exit_code == 2 and "is not base64" in not_b64.output


def test_missing_ca_file_is_named(runner, tmp_path, serve):
    url = serve(cert="server.crt")
    result, _ = run_status(runner, kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority": "nope/ca.crt"}))
    assert result.exit_code == 2
    assert f"certificate-authority file {tmp_path / 'nope' / 'ca.crt'}" in result.output


def test_html_server_is_not_kubernetes_and_its_body_is_not_printed(runner, tmp_path, serve):
    url = serve(html=True)
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url))
    assert result.exit_code == 2 and took < 5, result.output
    assert f"the server at {url} is not a Kubernetes API server" in result.output
    assert "Welcome to nginx!" in result.output and "<html>" not in result.output and "xxxxxxxx" not in result.output
    with pytest.raises(NotKubernetes):
        connect(str(tmp_path / "kc"), None)


def test_tls_errors_are_typed_and_not_transient(tmp_path, serve):
    url = serve(cert="expired.crt")
    with pytest.raises(ClusterTLSError) as err:
        connect(str(kubeconfig(tmp_path / "kc", url, cluster={"certificate-authority-data": ca_data()})), None)
    assert err.value.exit_code == 2


# -- credentials -------------------------------------------------------------------------------------------


def plugin(tmp_path: Path, body: str) -> str:
    script = tmp_path / "plugin.py"
    script.write_text(f"import json, sys, time\n{body}\n")
    return str(script)


def exec_user(script: str) -> dict:
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [script]}}


def test_exec_plugin_token_is_used(tmp_path, serve):
    url = serve()
    script = plugin(tmp_path, 'print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", '
                              '"kind": "ExecCredential", "status": {"token": "from-plugin"}}))')
    connect(str(kubeconfig(tmp_path / "kc", url, user=exec_user(script))), None).close()
    assert serve.handler.seen_auth == ["Bearer from-plugin"]


def test_failing_exec_plugin_is_exit_2_naming_it(runner, tmp_path, serve):
    url = serve()
    script = plugin(tmp_path, 'print("token expired: run aws sso login", file=sys.stderr); sys.exit(3)')
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url, user=exec_user(script)))
    assert result.exit_code == 2, result.output
    assert took < 5
    assert f"the credential plugin `{sys.executable} {script}` of user 'ctx-user'" in result.output
    assert "failed with exit code 3: token expired: run aws sso login" in result.output
    assert "ERROR root" not in result.output
    assert serve.handler.seen_auth == []  # never carried on unauthenticated


def test_hanging_exec_plugin_times_out(runner, tmp_path, serve, monkeypatch):
    monkeypatch.setenv("KFCTL_EXEC_TIMEOUT", "1")
    url = serve()
    script = plugin(tmp_path, "time.sleep(60)")
    result, took = run_status(runner, kubeconfig(tmp_path / "kc", url, user=exec_user(script)))
    assert result.exit_code == 2, result.output
    assert took < 5
    assert "did not answer within 1s" in result.output and "KFCTL_EXEC_TIMEOUT" in result.output


def test_missing_exec_command_is_named(runner, tmp_path, serve):
    url = serve()
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "kfctl-no-such-plugin",
                     "installHint": "install it with your package manager"}}
    result, _ = run_status(runner, kubeconfig(tmp_path / "kc", url, user=user))
    assert result.exit_code == 2
    assert "'kfctl-no-such-plugin' of user 'ctx-user'" in result.output and "is not installed" in result.output
    assert "install it with your package manager" in result.output


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_missing_client_certificate_file_is_named(runner, tmp_path, serve, scheme):
    url = serve(cert="server.crt" if scheme == "https" else None)
    key = tmp_path / "client.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    user = {"client-certificate": "certs/client.crt", "client-key": str(key)}
    result, _ = run_status(runner, kubeconfig(tmp_path / "kc", url, user=user,
                                              cluster={"certificate-authority-data": ca_data()}))
    assert result.exit_code == 2, result.output
    assert f"client-certificate file {tmp_path / 'certs' / 'client.crt'} of user 'ctx-user'" in result.output
    assert serve.handler.seen_auth == []


def test_unreadable_token_file_is_named(tmp_path, serve):
    url = serve()
    with pytest.raises(CredentialsError) as err:
        load(str(kubeconfig(tmp_path / "kc", url, user={"tokenFile": "gone"})), None)
    assert f"tokenFile file {tmp_path / 'gone'}" in str(err.value)


def test_refused_credentials_are_exit_2(runner, tmp_path, sim_factory):
    sim = sim_factory(token="right")
    path = Path(sim.kubeconfig_path)
    doc = json.loads(json.dumps(__import__("yaml").safe_load(path.read_text())))
    for user in doc["users"]:
        user["user"] = {"token": "wrong"}
    (tmp_path / "kc").write_text(json.dumps(doc))
    result, _ = run_status(runner, tmp_path / "kc")
    assert result.exit_code == 2
    assert "refused kfctl's credentials (401 Unauthorized)" in result.output


# -- kubeconfig files --------------------------------------------------------------------------------------


def test_kubeconfig_that_is_not_yaml_is_located(runner, tmp_path):
    bad = tmp_path / "kc"
    bad.write_text("apiVersion: v1\nclusters: [\n  - name: x\n    bad: : :\n")
    result, _ = run_status(runner, bad)
    assert result.exit_code == 2, result.output
    assert f"{bad}:" in result.output and "kubeconfig is not valid YAML" in result.output
    assert "Internal error" not in result.output
    (tmp_path / "list").write_text("- a\n- b\n")
    listed, _ = run_status(runner, tmp_path / "list")
    assert listed.exit_code == 2 and "a kubeconfig must be a mapping" in listed.output
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert run_status(runner, binary)[0].exit_code == 2


def test_kubeconfig_path_list_is_merged_as_kubectl_does(runner, tmp_path, sim_cluster, monkeypatch):
    """$KUBECONFIG=a:b: the first file to set current-context wins, entries are merged, missing files skipped."""
    import yaml

    sim_doc = yaml.safe_load(Path(sim_cluster.kubeconfig_path).read_text())
    # a: only the context and current-context; b: the cluster and user it names (plus a decoy current-context)
    a = {"apiVersion": "v1", "kind": "Config", "current-context": "sim",
         "contexts": [{"name": "sim", "context": {"cluster": "simc", "user": "simu"}}]}
    b = {"apiVersion": "v1", "kind": "Config", "current-context": "decoy",
         "clusters": [{"name": "simc", "cluster": sim_doc["clusters"][0]["cluster"]},
                      {"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}}],
         "users": [{"name": "simu", "user": sim_doc["users"][0]["user"]}],
         "contexts": [{"name": "decoy", "context": {"cluster": "dead", "user": "simu"}},
                      {"name": "sim", "context": {"cluster": "dead", "user": "simu"}}]}
    (tmp_path / "a").write_text(yaml.safe_dump(a))
    (tmp_path / "b").write_text(yaml.safe_dump(b))
    listed = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "missing"), str(tmp_path / "b")])
    monkeypatch.setenv("KUBECONFIG", listed)
    assert kubeconfig_paths(None)[0] == [str(tmp_path / "a"), str(tmp_path / "b")]
    cluster = connect(None, None)
    assert cluster.server == sim_doc["clusters"][0]["cluster"]["server"].rstrip("/")
    cluster.close()
    result = runner.invoke(cli, ["status", "--name", "demo"])
    assert result.exit_code == 1 and "deployment demo not found" in result.output  # reached the sim
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "nope1"), str(tmp_path / "nope2")]))
    with pytest.raises(ClusterConfigError) as err:
        connect(None, None)
    assert "none of the files in $KUBECONFIG exists" in str(err.value)


def test_relative_paths_are_relative_to_the_file_naming_them(tmp_path, serve, monkeypatch):
    url = serve(cert="server.crt")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "ca.crt").write_bytes((TLS / "ca.crt").read_bytes())
    kubeconfig(sub / "kc", url, cluster={"certificate-authority": "ca.crt"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(sub / "kc"))
    connect(None, None).close()


def test_unreadable_kubeconfig_is_named(runner, tmp_path, monkeypatch):
    path = kubeconfig(tmp_path / "kc", "http://127.0.0.1:1")
    # root reads a mode-000 file, and CI runs as root: refuse the read the way the OS would, for this file only
    import builtins

    from kfctl.cluster import kubeconfig as loader

    def guarded_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(loader, "open", guarded_open, raising=False)
    result, _ = run_status(runner, path)
    assert result.exit_code == 2 and f"cannot read kubeconfig {path}: Permission denied" in result.output
