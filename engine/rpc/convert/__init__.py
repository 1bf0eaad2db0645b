"""The servicer's proto conversions: requests to service arguments, service results to response messages.

`jobs` converts jobs, artifacts, events, templates and previews; `specs` export definitions and template specs;
`products` the catalogue's products. The installable client package has the client's side of each.
"""

from engine.rpc.convert.jobs import (
    artifact_to_proto,
    event_to_proto,
    job_to_proto,
    preview_to_proto,
    status_from_proto,
    status_to_proto,
    template_to_proto,
    template_version_to_proto,
)
from engine.rpc.convert.products import product_input, product_to_proto
from engine.rpc.convert.specs import export_request, template_spec

__all__ = [
    "artifact_to_proto",
    "event_to_proto",
    "export_request",
    "job_to_proto",
    "preview_to_proto",
    "product_input",
    "product_to_proto",
    "status_from_proto",
    "status_to_proto",
    "template_spec",
    "template_to_proto",
    "template_version_to_proto",
]
