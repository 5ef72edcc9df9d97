"""Natural-language understanding: one multi-task LoRA encoder per workspace (intent,
out-of-scope, slots, sentiment) on one shared MiniLM base. See README.md."""
