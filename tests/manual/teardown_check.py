"""Run by hand, or by tests/test_processes.py (never collected with the suite: the name has no
`test_` prefix). Each test starts a real server the way the suite does:

- `failing_half_way`: fails while `chroma run` and `assistant slack --http` are up; their
  teardown must still stop them, and the run must end with no process left.
- `teardown_left_out`: starts `chroma run` and, on purpose, never stops it; the session-end
  check in tests/conftest.py must name it and fail the run.

    pytest tests/manual/teardown_check.py -k failing_half_way -p no:cacheprovider
    pytest tests/manual/teardown_check.py -k teardown_left_out -p no:cacheprovider
"""

from __future__ import annotations

from test_slack import start_bot

from fake_slack import FakeSlack
from processes import ChromaServer


def test_failing_half_way(tmp_path):
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        with FakeSlack() as slack, start_bot(tmp_path / "bot", slack, ASSISTANT_CHROMA_URL=server.url):
            raise AssertionError("failing on purpose, with chroma run and assistant slack running")
    finally:
        server.stop()


def test_teardown_left_out(tmp_path):
    ChromaServer(tmp_path / "chroma").start()  # no stop(), on purpose
