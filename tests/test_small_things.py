"""Small things a new user trips on (issue 15): titles, wording, help, completion, global options."""

from __future__ import annotations

import json
import os
import stat

from tests.conftest import Runner
from tests.test_chat import Terminal


def test_an_upload_without_a_prompt_is_titled_by_its_files(run, server, tmp_path):
    brief = tmp_path / "brief.txt"
    brief.write_text("Deliver the landing page by March 3.\n")
    terms = tmp_path / "terms.md"
    terms.write_text("# Terms\nNet 30.\n")
    assert run("upload", str(brief), str(terms)).returncode == 0
    chats = json.loads(run("history", "--json").stdout)
    assert chats[0]["title"] == "brief.txt, terms.md"
    exported = run("history", "export", "--format", "md").stdout
    assert exported.splitlines()[0] == "# brief.txt, terms.md"


def test_the_markdown_export_heading_is_the_title_not_the_whole_message(run, server):
    long_prompt = "Draft a reply to the client\n" + "with many details " * 40
    assert run("ask", long_prompt).returncode == 0
    heading = run("history", "export", "--format", "md").stdout.splitlines()[0]
    assert heading == "# Draft a reply to the client"


def test_declining_a_delete_is_a_notice_not_an_error(run, server, home):
    assert run("ask", "keep me").returncode == 0
    term = Terminal(["history", "clear"], run.environment(), home.parent)
    try:
        term.read_until("Delete every chat")
        term.send("n\r")
        assert term.wait() == 0
        assert "cancelled; nothing was deleted" in term.text()
        assert "error" not in term.text()
    finally:
        term.close()
    assert len(json.loads(run("history", "--json").stdout)) == 1


def test_ctrl_c_is_not_reported_as_an_error(run, server):
    from tests.test_ask import interrupt_mid_answer

    code, err = interrupt_mid_answer(run, server, 2)
    assert code == 130
    assert "interrupted" in err and "error" not in err


def test_help_points_to_the_installed_reference(run_offline):
    top = run_offline("--help").stdout
    assert "docs/guide.md" not in top and "chatpro help" in top
    topics = run_offline("help")
    assert topics.returncode == 0 and "exit-codes" in topics.stdout
    codes = run_offline("help", "exit-codes").stdout
    assert "75" in codes and "130" in codes
    assert ".xlsx" in run_offline("help", "file-types").stdout
    assert "api.timeout" in run_offline("help", "config").stdout
    unknown = run_offline("help", "exitcodes")
    assert unknown.returncode == 2 and "did you mean exit-codes" in unknown.stderr


def test_one_unit_for_the_size_limit_everywhere(run_offline):
    text = run_offline("upload", "--help").stdout
    assert "10 MiB" in text and "10 MB" not in text


def test_a_global_option_after_the_command_says_where_it_goes(run_offline):
    result = run_offline("ask", "-q", "hi")
    assert result.returncode == 2
    assert "global option" in result.stderr and "chatpro -q ask" in result.stderr


def test_completion_install_works_on_a_fresh_home(run_process_offline: Runner, tmp_path):
    fresh = tmp_path / "fresh-home"
    fresh.mkdir()
    result = run_process_offline(
        "completion", "bash", "--install", env={"HOME": str(fresh), "XDG_DATA_HOME": ""}
    )
    assert result.returncode == 0, result.stderr
    target = fresh / ".local" / "share" / "bash-completion" / "completions" / "chatpro"
    assert result.stdout.strip() == str(target)
    assert "_chatpro_completion" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    zsh = run_process_offline("completion", "zsh", "--install", env={"HOME": str(fresh)})
    assert zsh.returncode == 0 and (fresh / ".zfunc" / "_chatpro").exists()
    assert "fpath" in zsh.stderr


def test_upload_completes_file_names(run_process_offline: Runner, home):
    env = {
        "_CHATPRO_COMPLETE": "bash_complete",
        "COMP_WORDS": "chatpro upload bri",
        "COMP_CWORD": "2",
    }
    result = run_process_offline(env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("file,")


def test_no_encoding_download_stalls_a_run(run_process, server, tmp_path):
    """An empty cache and a network that never answers (an unroutable proxy): the run waits at
    most about a second for tiktoken, then counts with an estimate and says so once."""
    empty = tmp_path / "no-encodings"
    empty.mkdir()
    env = {
        "TIKTOKEN_CACHE_DIR": str(empty),
        "HTTPS_PROXY": "http://127.0.0.1:9",  # refused at once; a hanging proxy is cut at 1 s
    }
    result = run_process("ask", "--json", input="word " * 5000, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("token counts are estimates") == 1
    assert os.listdir(empty) == []
