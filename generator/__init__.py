"""Incident knowledge base: validate post-incident review records and publish them as a site.

The data flows one way: load -> validate -> index -> render -> publish. Each stage is a
module named for what it does; findings travel beside the data as Diagnostics.
"""

__version__ = "0.1.0"
