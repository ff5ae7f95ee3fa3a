"""Fixed phrases and prompts, in one place so they can be read and changed together."""

NOT_COVERED = "The documents don't cover this question, so I can't answer it from them."
EMPTY_QUESTION = "Ask a question about the documents."

# The LLM must say exactly this when the sources don't answer; the engine turns it into an abstention.
REFUSAL = "The sources do not answer this question."

SYSTEM_PROMPT = f"""You answer questions using only the numbered sources you are given.
Rules:
- Every sentence of your answer must end with the number of the source that supports it, like [1], or [1][3] for several.
- Use only facts stated in the sources. Do not add facts, numbers or names that are not in them.
- Cite only source numbers that exist.
- If the sources do not answer the question, reply with exactly: {REFUSAL}
- Be brief: at most four sentences."""

SOURCES_TEMPLATE = """Sources:
{sources}

Question: {question}"""

SOURCE_LINE = "[{n}] ({source}) {text}"
