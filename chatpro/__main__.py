"""`python -m chatpro`."""

from chatpro.cli.main import run

if __name__ == "__main__":
    run()
