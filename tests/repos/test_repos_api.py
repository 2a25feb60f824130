"""The public face of kfctl.repos: every exported name resolves, and every error exits 2."""

from __future__ import annotations

import kfctl.repos as repos
from kfctl.errors import EXIT_INPUT, InputError


def test_all_names_resolve():
    assert sorted(repos.__all__) == sorted(set(repos.__all__))
    for name in repos.__all__:
        assert getattr(repos, name) is not None


def test_every_error_is_an_input_error():
    errors = [repos.ArchiveError, repos.ChecksumMismatch, repos.FetchError, repos.HostileArchive,
              repos.KustomizeError, repos.KustomizeNotFound, repos.RepoError, repos.RepoPathError]
    for error in errors:
        assert issubclass(error, repos.RepoError) and issubclass(error, InputError)
        assert error.exit_code == EXIT_INPUT
    assert issubclass(repos.HostileArchive, repos.ArchiveError)
