"""chatpro: a scriptable command-line work companion on OpenAI chat models."""

__version__ = "0.1.0"
