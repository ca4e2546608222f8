"""The `kb` command line: parse options, call the pipeline, report, exit. Nothing else.

Exit codes (the contract): 0 no errors (and with --strict no warnings), 1 findings,
2 usage error. The group is here; the commands are in build.py (validate, build, serve)
and workflows.py (the everyday commands), what they share in common.py.
"""

from __future__ import annotations

import click

from generator import __version__
from generator.cli import build, workflows
from generator.cli.common import KBError, _Group, echo

__all__ = ["KBError", "echo", "main"]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kb")
def main() -> None:
    """Knowledge base of security post-incident reviews.

    Reviewers keep one YAML record per review in kb/reviews/; `kb validate` checks them,
    `kb build` publishes the cross-linked site.
    """


for _command in (build.validate, build.build, build.serve, workflows.new, workflows.search, workflows.show,
                 workflows.similar_reviews, workflows.actions, workflows.training, workflows.export, workflows.evidence):
    main.add_command(_command)
