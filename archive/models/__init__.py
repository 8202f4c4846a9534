"""SQLAlchemy 2 models of the archive, one module per area; every model is importable from here.

- ``base``: the declarative base and ``UTCDateTime``;
- ``core``: sites, crawl runs, documents, content versions;
- ``captures``: what the servers sent (captures, resources, attachments) and our readings of it;
- ``lifecycle``: events (removed/restored/moved), aliases, near-duplicate signatures and links;
- ``ops``: schedules, per-run quality figures, suppressions and their audit trail.
"""

from __future__ import annotations

from archive.models.base import Base, UTCDateTime
from archive.models.captures import Attachment, Capture, Extraction, Resource
from archive.models.core import CrawlRun, Document, Site, Version
from archive.models.lifecycle import DocumentEvent, DocumentSignature, NearDuplicate, SignatureBucket, UrlAlias
from archive.models.ops import RunQuality, Schedule, Suppression, SuppressionAudit

__all__ = [
    "Attachment",
    "Base",
    "Capture",
    "CrawlRun",
    "Document",
    "DocumentEvent",
    "DocumentSignature",
    "Extraction",
    "NearDuplicate",
    "Resource",
    "RunQuality",
    "Schedule",
    "SignatureBucket",
    "Site",
    "Suppression",
    "SuppressionAudit",
    "UTCDateTime",
    "UrlAlias",
    "Version",
]
