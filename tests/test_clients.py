"""Client names and where a command's client comes from: --client, CHATPRO_CLIENT, .chatpro.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatpro.clients import check_client_name, find_project_client, resolve_client
from chatpro.errors import ConfigError, InputError


@pytest.mark.parametrize("name", ["acme", "Acme Corp.", "a_b-c.d 2", "x" * 64])
def test_valid_client_names(name):
    assert check_client_name(name) == name


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "acme/corp", "acme\n", "naïve"])
def test_invalid_client_names_are_exit_2(name):
    with pytest.raises(InputError) as err:
        check_client_name(name)
    assert err.value.exit_code == 2
    assert "client name" in err.value.message


def test_the_nearest_project_file_wins_from_a_nested_directory(tmp_path):
    (tmp_path / ".chatpro.toml").write_text('client = "Outer"\n')
    project = tmp_path / "clients" / "acme"
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    (project / ".chatpro.toml").write_text('client = "Acme Corp"\n')
    assert find_project_client(nested) == ("Acme Corp", (project / ".chatpro.toml").resolve())
    assert find_project_client(tmp_path / "clients")[0] == "Outer"


def test_a_project_file_without_client_is_passed_over(tmp_path):
    (tmp_path / ".chatpro.toml").write_text('client = "Outer"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".chatpro.toml").write_text("# nothing yet\n")
    assert find_project_client(tmp_path / "sub")[0] == "Outer"


def test_the_search_stops_at_the_filesystem_root(tmp_path):
    above = [d / ".chatpro.toml" for d in (tmp_path, *tmp_path.parents)]
    if any(p.exists() for p in above):
        pytest.skip("a .chatpro.toml above the test directory")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_project_client(nested) is None
    assert find_project_client(Path(tmp_path.anchor)) is None


@pytest.mark.parametrize(
    "text", ["client = [\n", 'client = "bad/name"\n', "client = 3\n", b"client = '\xff'\n"]
)
def test_a_bad_project_file_is_exit_4_naming_it(tmp_path, text):
    path = tmp_path / ".chatpro.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as err:
        find_project_client(tmp_path)
    assert err.value.exit_code == 4
    assert str(path) in err.value.message


def test_an_unreadable_project_file_is_exit_4(tmp_path):
    path = tmp_path / ".chatpro.toml"
    path.mkdir()  # unreadable as a file, even for root
    with pytest.raises(ConfigError) as err:
        find_project_client(tmp_path)
    assert str(path) in err.value.message


def test_order_flag_then_environment_then_project_file(tmp_path):
    (tmp_path / ".chatpro.toml").write_text('client = "from-file"\n')
    env = {"CHATPRO_CLIENT": "from-env"}
    assert resolve_client("from-flag", env, tmp_path) == "from-flag"
    assert resolve_client(None, env, tmp_path) == "from-env"
    assert resolve_client(None, {}, tmp_path) == "from-file"
    assert resolve_client(None, {"CHATPRO_CLIENT": ""}, tmp_path) == "from-file"
    with pytest.raises(InputError) as err:
        resolve_client(None, {"CHATPRO_CLIENT": "a/b"}, tmp_path)
    assert "CHATPRO_CLIENT" in err.value.message
