"""``kfctl sim serve --real``: the real control plane from the command line, stopped completely on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.realcluster.binaries import NEEDED
from kfctl.realcluster.testing import binaries_or_skip

KUBECTL = Path(sys.executable).parent / "kubectl"


def test_options_only_the_sim_has_are_refused_with_real(tmp_path):
    result = CliRunner().invoke(cli, ["sim", "serve", "--real", "--kubeconfig", str(tmp_path / "kc"),
                                      "--profile", "flaky", "--fault", "error_503=0.1"])
    assert result.exit_code == 2
    assert "--profile, --fault: only the simulated cluster has this" in result.output


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.realcluster
def test_serve_real_serves_kubectl_and_stops_every_process_on_sigterm(tmp_path):
    binaries_or_skip()
    kubeconfig = tmp_path / "real.kubeconfig"
    serve = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--real", "--kubeconfig", str(kubeconfig),
                              "--nodes", "2", "--node-gpus", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        line = serve.stdout.readline()
        assert line, serve.stderr.read()
        info = json.loads(line)
        assert info["real"] and info["kubeconfig"] == str(kubeconfig)
        processes = _children(serve.pid)
        names = {Path(os.readlink(f"/proc/{p}/exe")).name for p in processes}
        assert set(NEEDED) <= names
        nodes = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"],
                               capture_output=True, text=True, timeout=60)
        items = json.loads(nodes.stdout)["items"]
        assert len(items) == 2
        for node in items:
            assert node["status"]["capacity"]["nvidia.com/gpu"] == "4"
            assert {"type": "Ready", "status": "True"}.items() <= {
                k: v for c in node["status"]["conditions"] if c["type"] == "Ready" for k, v in c.items()}.items()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in processes if Path(f"/proc/{p}").exists()], "a control-plane process outlived serve"
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
