"""What a file link is called on a page: "Herunterladen", "Anhören", "Ansehen", "Lesen", and
a distributor's link: "Lizenzdatei für Ihre Lese-App"."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext

from library.access.links import Action
from library.access.services import FileLink
from library.licences.providers import LCP_LICENSE, ExternalLink
from media.files.labels import FORMAT_LABELS, size_label


def link_label(link: FileLink) -> Any:
    """The verb of a link: downloads are saved; streams are listened to, watched or read."""
    if link.action is Action.DOWNLOAD:
        return _l("Download")
    kind = link.file.media_type.partition("/")[0]
    if kind == "audio":
        return pgettext("file link", "Listen")
    if kind == "video":
        return pgettext("file link", "Watch")
    return pgettext("file link", "Read")


def file_facts(link: FileLink) -> str:
    """The file's format and size, and its label among the item's files ("EPUB · 2.3 MB")."""
    facts = [str(FORMAT_LABELS[link.file.format]), size_label(link.file.size_bytes)]
    if link.file.label:
        facts.append(link.file.label)
    return " · ".join(facts)


# What a distributor's link is, in the patron's words (the rels of ``OdlProvider.fulfil``).
EXTERNAL_LABELS = {
    "license": _l("Licence file for your reading app"),
    "publication": _l("Publication for your reading app"),
}


def external_label(link: ExternalLink) -> Any:
    """What a distributor's link gives the patron."""
    return EXTERNAL_LABELS.get(link.rel, link.rel)


def external_facts(link: ExternalLink) -> str:
    """What kind of file it is: "Readium LCP" for an LCP licence, else its media type."""
    return "Readium LCP" if link.media_type == LCP_LICENSE else link.media_type
