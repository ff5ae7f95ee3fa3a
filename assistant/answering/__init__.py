"""Answering, as stages: each a module with one entry point, called once per question, in order.

1. `question.read`      what the question asks for, and whether it can be asked at all
2. `retrieve.retrieve`  passages of the visible spaces
3. `candidates.gather`  their sentences, with neighbours; those that may not be quoted set aside
4. `select.select`      ordering (the learned `reader`'s chances) and choice of the sentences to quote
5. `decide.decide`      answer, near miss, off topic or nothing, with the reason (the one place)
6. `cite.cite`          evidence checked against the file, merged, numbered, written into the answer
7. `draft.draft`        with an LLM: its draft, claim by claim against the sources; else the above

`reader` scores candidates (weights in reader.onnx, trained by eval/train_reader.py);
`tuning` holds the fitted values and which hand rules are in force; `explain` makes the answer's `Trace` from the stages' outputs.
"""
