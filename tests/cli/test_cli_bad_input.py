"""Ordinary bad input is exit 2 with a message naming the path, never "internal error ... this is a bug"."""

from __future__ import annotations

from kfctl.cli.main import cli


def test_init_under_a_file_is_exit_2(runner, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(cli, ["init", str(tmp_path / "afile" / "sub")])
    assert result.exit_code == 2, result.output
    assert f"cannot create {tmp_path / 'afile' / 'sub' / 'kfdef.yaml'}: Not a directory" in result.output
    assert "Internal error" not in result.output


def test_generate_into_an_unwritable_place_is_exit_2(runner, tmp_path):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core"]).exit_code == 0
    result = runner.invoke(cli, ["generate", "-f", str(app / "kfdef.yaml"), "-o", "/proc/kfctl-x"])
    assert result.exit_code == 2, result.output
    assert "cannot write the kustomize tree to /proc/kfctl-x" in result.output
    assert "Internal error" not in result.output


def test_sim_persist_into_a_file_that_is_not_sqlite_is_exit_2(runner, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database, but it is long enough to be read as a header\n" * 20)
    result = runner.invoke(cli, ["sim", "serve", "--kubeconfig", str(tmp_path / "kc"), "--persist", str(junk),
                                 "--no-behaviour"])
    assert result.exit_code == 2, result.output
    assert f"--persist {junk}: cannot use it as the sim's SQLite file" in result.output
    assert "Internal error" not in result.output


def test_an_unreadable_path_is_input_not_a_bug(runner, monkeypatch):
    """The last line of defence: an OSError naming a file is the user's path, exit 2, not a bug report."""
    import click

    from kfctl.cli import main as main_mod

    @click.command()
    def reads() -> None:
        open("/nonexistent/kfctl-file")  # noqa: SIM115

    monkeypatch.setitem(main_mod.COMMANDS, "reads", f"{__name__}:_reads")
    globals()["_reads"] = reads
    result = runner.invoke(cli, ["reads"])
    assert result.exit_code == 2
    assert "No such file or directory: /nonexistent/kfctl-file" in result.output
    assert "Internal error" not in result.output
