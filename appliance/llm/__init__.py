"""The local model runtime: backends, model manifests, the model store and hot swap.

Only the worker process loads a model. Backends take nothing but a
:class:`~appliance.privacy.prompt.ScrubbedPrompt`, so no unscrubbed text reaches a
model, and every call is recorded in the ``model_call`` table.
"""
