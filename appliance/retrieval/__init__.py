"""Similar past incidents: a FAISS index of closed incidents, persisted on disk.

Only the worker (and the ``appliance index`` commands) load FAISS and the embedding
model; web processes read stored results.
"""
