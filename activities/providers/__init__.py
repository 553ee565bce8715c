"""Model providers: `echo` (deterministic, offline) and `openai` (any compatible endpoint)."""
