"""`assistant serve`, a real process on loopback, driven with real clients: the `openai` package
for chat completions, plain HTTP (urllib) for the rest."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_spaces import HR_FACT, HR_QUESTION, make_spaces

from api_server import Server, client, mcp_call, over_http, serving
from data import ARTICLE, BECK, BUNDLED, HOMELAND, SCRIPT
from processes import free_port, wait_for

pytestmark = pytest.mark.slow
SHERIFF = "a spokesman for the Sheriff’s Department"


@pytest.fixture(scope="module")
def plain(tmp_path_factory, embedder) -> Iterator[Server]:
    """(`embedder`: the model is exported before, once, for every process of the session.)"""
    root = tmp_path_factory.mktemp("api")
    with serving(root, "--corpus", str(BUNDLED)) as server:
        yield server


def exact(citations: list[dict], root: Path = BUNDLED) -> None:
    for c in citations:
        text = (root / c.get("space", "") / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["quote"]


def test_the_openai_client_gets_the_quote_with_exact_citations(plain):
    openai = client(plain)
    reply = openai.chat.completions.create(model="default", messages=[{"role": "user", "content": BECK}])
    assert HOMELAND in reply.choices[0].message.content and "[1]" in reply.choices[0].message.content
    assert reply.model == "default"
    citations = reply.model_extra["citations"]
    assert any(HOMELAND in c["quote"] for c in citations) and all(c["source"] == ARTICLE for c in citations)
    exact(citations)

    chunks = list(
        openai.chat.completions.create(model="default", messages=[{"role": "user", "content": BECK}], stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    streamed = chunks[-1].model_extra["citations"]
    assert streamed == citations
    exact(streamed)


def test_a_follow_up_in_the_same_conversation_quotes_the_sheriffs_spokesman(plain):
    status, first = plain.call("POST", "/v1/ask", {"question": BECK, "conversation": "c-1"})
    assert status == 200 and any(HOMELAND in c["quote"] for c in first["citations"])
    status, second = plain.call("POST", "/v1/ask", {"question": "What about the sheriff?", "conversation": "c-1"})
    assert status == 200 and second["conversation"] == "c-1"
    assert any(SHERIFF in c["quote"] for c in second["citations"]), second
    exact(second["citations"])
    assert "Homeland Security" in second["query"]  # resolved against the first question
    status, alone = plain.call("POST", "/v1/ask", {"question": "What about the sheriff?"})
    assert status == 200 and "query" not in alone  # no conversation: taken as it is

    history = [
        {"role": "user", "content": BECK},
        {"role": "assistant", "content": first["answer"]},
        {"role": "user", "content": "What about the sheriff?"},
    ]
    reply = client(plain).chat.completions.create(model="default", messages=history)
    assert any(SHERIFF in c["quote"] for c in reply.model_extra["citations"])


def test_ask_streams_sentences_then_the_answer(plain):
    request = urllib.request.Request(
        plain.url + "/v1/ask",
        data=json.dumps({"question": BECK}).encode(),
        headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [e for e in response.read().decode().split("\n\n") if e.strip()]
    names = [e.split("\n")[0] for e in events]
    assert names[-1] == "event: answer" and set(names[:-1]) == {"event: sentence"}
    whole = json.loads(events[-1].split("data: ", 1)[1])
    said = "".join(json.loads(e.split("data: ", 1)[1])["text"] for e in events[:-1])
    assert said == whole["answer"] and HOMELAND in said
    exact(whole["citations"])


def test_documents_health_and_models(plain):
    assert plain.call("GET", "/healthz") == (200, {"status": "ok"})
    assert plain.call("GET", "/readyz") == (200, {"status": "ready"})
    status, doc = plain.call("GET", f"/v1/documents/default/{ARTICLE}?start=558&end=749")
    text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    assert status == 200 and doc["quote"] == text[558:749]
    assert doc["before"] == text[158:558] and doc["after"] == text[749:1149]
    assert plain.call("GET", "/v1/models")[1]["data"][0]["id"] == "default"


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({}, 400, "question: Field required"),
        ({"question": "   "}, 400, "the question is empty"),
        (b"{not json", 400, "the body is not valid JSON"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        ({"question": "x" * 70_000}, 413, "the body is 70,016 bytes; at most 65,536"),
        ({"question": "x" * 3000}, 400, "the question is too long"),
        ({"question": BECK, "spaces": ["hr"]}, 404, "no space named 'hr' that you may see"),
        ({"question": BECK, "k": 0}, 400, "k: Input should be greater than or equal to 1"),
    ],
    ids=["missing", "empty", "bad-json", "not-an-object", "too-large", "too-long", "unknown-space", "bad-k"],
)
def test_bad_input_gets_its_status_and_one_json_line(plain, body, status, error):
    got, data = plain.call("POST", "/v1/ask", body)
    assert got == status, data
    assert list(data) == ["error"] and data["error"].startswith(error) and "\n" not in data["error"]


def test_chat_completions_bad_input(plain):
    assert plain.call("POST", "/v1/chat/completions", {"messages": []})[0] == 400
    got, data = plain.call("POST", "/v1/chat/completions", {"messages": [{"role": "assistant", "content": "hi"}]})
    assert (got, data["error"]) == (400, "the last message must be the user's question (role 'user')")


TOKENS = "tok-general=general,tok-hr=ana"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, embedder) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("guarded")
    spaces = make_spaces(root)
    text = spaces.read_text(encoding="utf-8")
    text = text.replace('slack_channels = ["*"]', 'slack_channels = ["*"]\napi_users = ["*"]')
    spaces.write_text(text.replace('slack_users = ["U0LEAD"]', 'slack_users = ["U0LEAD"]\napi_users = ["ana"]'))
    env = {"ASSISTANT_SPACES": str(spaces), "ASSISTANT_API_TOKENS": TOKENS}
    with serving(root, **env) as server:
        yield server


def test_tokens_and_spaces_decide_what_each_caller_sees(guarded):
    assert guarded.call("POST", "/v1/ask", {"question": HR_QUESTION})[0] == 401
    assert guarded.call("POST", "/v1/ask", {"question": HR_QUESTION}, token="tok-wrong")[0] == 401
    assert guarded.call("GET", "/healthz")[0] == 200  # liveness needs no token

    status, hr = guarded.call("POST", "/v1/ask", {"question": HR_QUESTION}, token="tok-hr")
    assert status == 200 and [(c["space"], c["source"]) for c in hr["citations"]][:1] == [("hr", "leave.md")]
    assert "27 days" in hr["citations"][0]["quote"]
    exact(hr["citations"], guarded.root)

    status, general = guarded.call("POST", "/v1/ask", {"question": HR_QUESTION}, token="tok-general")
    assert status == 200 and all(c.get("space") != "hr" for c in general["citations"] + general.get("related", []))
    assert HR_FACT not in json.dumps(general)
    assert guarded.call("POST", "/v1/ask", {"question": HR_QUESTION, "spaces": ["hr"]}, token="tok-general")[0] == 404
    assert guarded.call("GET", "/v1/documents/hr/leave.md", token="tok-general")[0] == 404
    assert guarded.call("GET", "/v1/documents/hr/leave.md", token="tok-hr")[1]["quote"].startswith("# Leave")
    assert [m["id"] for m in guarded.call("GET", "/v1/models", token="tok-general")[1]["data"]] == ["handbook"]
    assert [m["id"] for m in guarded.call("GET", "/v1/models", token="tok-hr")[1]["data"]] == ["handbook", "hr"]

    general_chat = client(guarded, "tok-general").chat.completions.create(
        model="handbook", messages=[{"role": "user", "content": HR_QUESTION}]
    )
    assert HR_FACT not in general_chat.choices[0].message.content + json.dumps(general_chat.model_extra)
    hr_chat = client(guarded, "tok-hr").chat.completions.create(
        model="hr", messages=[{"role": "user", "content": HR_QUESTION}]
    )
    assert any(c["source"] == "leave.md" for c in hr_chat.model_extra["citations"])


def test_without_tokens_it_listens_on_loopback_only(tmp_path):
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--host", "0.0.0.0", "--corpus", str(BUNDLED)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data")},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --host 0.0.0.0 without ASSISTANT_API_TOKENS would answer anyone")


def test_mcp_over_stdio_lists_the_tools_and_asks_with_exact_offsets(tmp_path, embedder):
    from mcp import StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    params = StdioServerParameters(command=str(SCRIPT), args=["mcp", "--corpus", str(BUNDLED)], env=env)
    names, (answer, found), docs = mcp_call(
        lambda: stdio_client(params),
        ("ask", {"question": BECK}),
        ("search", {"query": "sheriff", "k": 3}),
        resources=True,
    )
    assert sorted(names) == ["ask", "search"]
    assert HOMELAND in answer.content[0].text and not answer.isError
    exact(answer.structuredContent["citations"])
    assert any(HOMELAND in c["quote"] for c in answer.structuredContent["citations"])
    passages = found.structuredContent["passages"]
    assert len(passages) == 3
    text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    assert all(text[p["start"] : p["end"]] == p["text"] for p in passages)
    assert docs[f"assistant://default/{ARTICLE}"] == text  # the documents are resources
    assert docs["assistant://hr/leave.md"].startswith("error: no such document")


def test_mcp_over_http_at_slash_mcp(plain):
    names, (answer,) = mcp_call(lambda: over_http(plain.url + "/mcp"), ("ask", {"question": BECK}))
    assert sorted(names) == ["ask", "search"]
    exact(answer.structuredContent["citations"])
    assert any(HOMELAND in c["quote"] for c in answer.structuredContent["citations"])


def test_mcp_callers_see_what_their_token_lets_them(guarded):
    def as_user(token):
        return lambda: over_http(guarded.url + "/mcp", token)

    _, (hr,), hr_docs = mcp_call(as_user("tok-hr"), ("ask", {"question": HR_QUESTION}), resources=True)
    assert any(c.get("space") == "hr" and c["source"] == "leave.md" for c in hr.structuredContent["citations"])
    assert HR_FACT in hr_docs["assistant://hr/leave.md"]
    _, _, general_docs = mcp_call(as_user("tok-general"), resources=True)
    assert general_docs and not any(uri.startswith("assistant://hr/") for uri in list(general_docs)[:-1])
    assert general_docs["assistant://hr/leave.md"].startswith("error: no such document")
    _, (general, found) = mcp_call(
        as_user("tok-general"), ("ask", {"question": HR_QUESTION, "spaces": ["hr"]}), ("search", {"query": HR_QUESTION})
    )
    assert HR_FACT not in json.dumps(general.structuredContent) + json.dumps(found.structuredContent)
    assert all(p["space"] != "hr" for p in found.structuredContent["passages"])
    status, data = guarded.call("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert status == 401 and data["error"].startswith("missing or unknown bearer token")


def test_an_index_that_cant_be_opened_is_a_503_with_the_reason(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with serving(tmp_path, "--corpus", str(BUNDLED), ready=False, ASSISTANT_CHROMA_URL=dead) as server:
        assert server.call("GET", "/healthz")[0] == 200
        status, data = wait_for(lambda: _broken(server), "the failed sync to show in /readyz")
        assert status == 503 and data["error"].startswith("couldn't open the index:") and "Chroma" in data["error"]
        status, data = server.call("POST", "/v1/ask", {"question": BECK})
        assert status == 503 and data["error"].startswith("couldn't open the index:")


def _broken(server: Server):
    status, data = server.call("GET", "/readyz")
    return (status, data) if status == 503 and "couldn't" in data.get("error", "") else None


def test_mcp_reports_our_version_plain_descriptions_and_an_empty_question_as_an_error(plain):
    import asyncio
    from importlib.metadata import version

    from mcp import ClientSession

    async def go():
        async with over_http(plain.url + "/mcp") as streams, ClientSession(streams[0], streams[1]) as session:
            init = await session.initialize()
            tools = {t.name: t.description for t in (await session.list_tools()).tools}
            return init, tools, await session.call_tool("ask", {"question": "   "})

    init, tools, empty = asyncio.run(go())
    assert init.serverInfo.name == "cited-assistant" and init.serverInfo.version == version("cited-assistant")
    assert all(d and "\n " not in d and d == d.strip() for d in tools.values()), tools
    assert empty.isError and empty.content[0].text == "the question is empty"


def test_a_port_in_use_is_one_error_line_and_exit_1(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [str(SCRIPT), "serve", "--port", str(port), "--corpus", str(BUNDLED)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"},
        )
    assert proc.returncode == 1 and "serving" not in proc.stdout
    assert proc.stderr.splitlines() == [
        f"error: can't listen on 127.0.0.1:{port}: the port is in use (pick another with --port)"
    ]
