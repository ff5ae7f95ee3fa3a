"""Constants the tests share: where the bundled corpus is, and the questions and sentences they check."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "corpus"
ARTICLE = "lapd-wont-help-deportations.txt"
SCRIPT = Path(sys.executable).parent / "assistant"  # the console script pip installed

BECK = "What did Chief Beck say about working with Homeland Security?"
HOMELAND = "We are not going to work in conjunction with Homeland Security on deportation efforts."
FOLLOW_UP = "Did the election change anything for his department?"
# What the follow-up is answered with: the reporter's sentence that says it outright.
RESULTS = (
    "As a final vote of confidence, Chief Beck reminded citizens that the election’s results haven’t suddenly "
    "changed the way the LAPD does their job."
)
OFF_TOPIC = ["Who won the 2020 World Series?", "What is the capital of France?", "How do I bake sourdough bread?"]

# An LLM reply: one supported sentence, one fabricated number, and a citation of a source that doesn't exist.
GOOD = "Chief Beck said the LAPD will not work with Homeland Security on deportation efforts [1]."
ACCEPTANCE = GOOD + " The LAPD has 50,000 officers [1]. [7]"
