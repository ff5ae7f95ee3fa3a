"""Documents to chunks to vectors to Chroma: loading, chunking, embedding, sync and search."""
