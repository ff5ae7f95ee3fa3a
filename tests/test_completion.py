"""Shell completion (argcomplete): `eval "$(assistant completion bash)"` completes commands and flags."""

from __future__ import annotations

import os

import pytest

from data import SCRIPT

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_code_for_each_shell(shell):
    import subprocess

    proc = subprocess.run([str(SCRIPT), "completion", shell], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "assistant" in proc.stdout and "_ARGCOMPLETE" in proc.stdout


def test_bash_completes_commands_and_flags(tmp_path):
    env = {**os.environ, "PATH": f"{SCRIPT.parent}:{os.environ['PATH']}", "HOME": str(tmp_path), "PS1": "$ "}
    bash = pexpect.spawn("bash", ["--norc", "--noprofile"], env=env, encoding="utf-8", timeout=60, cwd=tmp_path)
    try:
        bash.sendline('eval "$(assistant completion bash)"; echo READY')
        bash.expect("READY\r\n")
        bash.send("assistant as\t")
        bash.expect("assistant ask ")  # the one command starting "as", completed in place
        bash.send("--fail\t")
        bash.expect("--fail-on-abstain")
        # C-u (readline's unix-line-discard) clears the line in input order; ^C raced the next keys:
        # the tty flushes typed-ahead input on SIGINT, so under load the next line could vanish.
        bash.sendcontrol("u")
        bash.send("assistant ingest --\t\t")  # two tabs: the choices are listed, then the line again
        bash.expect(r"(?s)--\S+\s+--\S+.*\r\n\$ assistant ingest --")
        listed = bash.after.split()
        for flag in ("--data-dir", "--quiet", "--verbose", "--corpus", "--json"):
            assert flag in listed, bash.before
        bash.sendcontrol("u")
        bash.sendline("exit")
        bash.expect(pexpect.EOF)
    finally:
        bash.close(force=True)
