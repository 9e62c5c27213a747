"""A bundled sandbox ERP/WMS/TMS: realistic generated data over real HTTP, with fault switches.

It imports nothing from Django, so it runs alone (`manage.py sandbox`, or beside the app in
`make run`) and inside tests as a live server on loopback.
"""

from .server import Sandbox, SandboxState

__all__ = ["Sandbox", "SandboxState"]
