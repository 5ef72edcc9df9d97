"""Safety: personal data found and redacted, prompt injection detected, bot output guarded.

Framework-free; ``apps/safety`` wires it into the chat, the index, training exports and the LLM.
"""
