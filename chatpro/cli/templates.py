"""`chatpro templates`: the starter prompts (built in, or TOML files in the config dir)."""

from __future__ import annotations

import click

from chatpro.cli.common import get_app
from chatpro.cli.complete import complete_templates
from chatpro.render import one_line


@click.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  chatpro templates
  chatpro templates show proposal
  chatpro ask -t proposal < job-post.txt
  chatpro upload -t summarize contract.pdf

\b
Your own: a file NAME.toml in the templates dir ('chatpro config path') with
  description = "One line"
  system = "You are ..."
  prompt = "Do this with: {input}"
A file with a built-in's name overrides it.
""",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def templates(ctx: click.Context, as_json: bool) -> None:
    """List and show starter prompt templates (use one with -t NAME)."""
    if ctx.invoked_subcommand is None:
        _list(ctx, as_json)


def _list(ctx: click.Context, as_json: bool) -> None:
    from chatpro.templates import list_templates

    app = get_app(ctx)
    items = list_templates(app.paths.templates_dir)
    if as_json:
        app.out.json(
            [{"name": t.name, "description": t.description, "source": t.source} for t in items]
        )
        return
    app.out.table(
        ["name", "source", "description"],
        [
            [t.name, "built-in" if t.source == "built-in" else "user", one_line(t.description, 70)]
            for t in items
        ],
    )


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List templates: name, where it comes from, what it is for.

    \b
    Example:
      chatpro templates list --json | jq -r '.[].name'
    """
    _list(ctx, as_json)


@templates.command("show")
@click.argument("name", shell_complete=complete_templates)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Print a template's system text and prompt.

    \b
    Example:
      chatpro templates show code-review
    """
    from chatpro.templates import get_template

    app = get_app(ctx)
    t = get_template(app.paths.templates_dir, name)
    if as_json:
        app.out.json(
            {
                "name": t.name,
                "description": t.description,
                "system": t.system,
                "prompt": t.prompt,
                "source": t.source,
            }
        )
        return
    app.out.line(f"{t.name}: {t.description}")
    app.out.line(f"source: {t.source}")
    if t.system:
        app.out.line("\n[system]")
        app.out.line(t.system)
    app.out.line("\n[prompt]")
    app.out.line(t.prompt)
